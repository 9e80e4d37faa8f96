"""Review sentiment in the service, the one door to `nlp/` for the CLI, the jobs, the pipeline and
the API: `data` (the rows a model was trained on), `training` (fine-tune and register),
`export` (ONNX and int8 files), `evaluation` (against VADER and TF-IDF), `batch` (score the
stored reviews, or a CSV into a CSV, resumably).
"""
