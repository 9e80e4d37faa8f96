"""Review sentiment in the service, and the one way to `nlp/` for the CLI, the jobs, the pipeline
and the API: `production` finds the model that scores (the registry's production version) and
loads its scorer; `scoring` scores texts (sentiment and aspects) and turns a result into a
review's columns; `batch` scores the stored reviews, or a CSV into a CSV, resumably; `training`
fine-tunes and registers a model, `export` writes its ONNX and int8 files, `evaluation` sets it
beside VADER and TF-IDF, and `data` keeps the rows it was trained on.
"""
