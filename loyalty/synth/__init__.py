"""Synthetic data for a restaurant group in Lima: customers, visits, orders, reviews, churn.

``generate`` simulates a loyalty programme with latent structure a model can learn (customer
archetypes, spending power, dish preferences, per-visit experiences that drive ratings, review
text and churn); ``write`` saves it as CSVs in the layout of ``docs/data-schema.md`` plus a
``truth.csv`` with the latent ground truth per customer.
"""

from loyalty.synth.csvout import SCHEMA_COLUMNS, write
from loyalty.synth.generate import SynthData, generate

__all__ = ["SCHEMA_COLUMNS", "SynthData", "generate", "write"]
