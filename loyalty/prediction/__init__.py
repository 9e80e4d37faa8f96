"""Churn and loyalty-tier prediction: Keras tabular and sequence models, gradient boosting, and
the stacking ensemble that combines them. Every model reads `ModelInputs` and answers with
`Predictions`, so the ensemble and the explainer can treat them alike."""
