# The loyalty service: the API under gunicorn, CPU-only.
#
#   docker build -t loyalty .
#   docker run -p 8000:8000 -v "$PWD/var:/app/var" loyalty
#
# The image holds code and dependencies; the database (SQLite under /app/var by default, or
# LOYALTY_DATABASE_URL) and the trained models (/app/var/models) live in the mounted volume.
# torch is pinned to its CPU build in constraints.txt: point PIP_INDEX_URL /
# PIP_EXTRA_INDEX_URL (build arguments) at an index that serves it.

FROM python:3.11-slim-bookworm AS build
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml constraints.txt README.md ./
COPY loyalty ./loyalty
COPY nlp ./nlp
COPY api ./api
COPY migrations ./migrations
RUN /opt/venv/bin/pip install -c constraints.txt . \
    && /opt/venv/bin/python -c "import api, loyalty, nlp"

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LOYALTY_HOME=/app/var \
    LOYALTY_MIGRATIONS_DIR=/app/migrations \
    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RUN groupadd --system --gid 10001 loyalty \
    && useradd --system --uid 10001 --gid loyalty --home-dir /app loyalty
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=10001:10001 migrations ./migrations
RUN mkdir -p /app/var && chown 10001:10001 /app/var
USER 10001
VOLUME ["/app/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# Migrate (a no-op when current), then gunicorn: sync workers, one per core plus one.
CMD ["sh", "-c", "loyalty db upgrade && exec loyalty serve --host 0.0.0.0 --port 8000"]
