# syntax=docker/dockerfile:1
# Multi-stage: build the virtualenv with compilers available, run from a slim image as a non-root user.
# The entrypoint migrates once, then serves; with several replicas, run `zhaoshang migrate` as a
# one-off job instead and start the replicas with `zhaoshang serve`.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --upgrade pip && pip install .

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    MIGRATIONS_DIR=/srv/zhaoshang/migrations \
    DATABASE_URL=sqlite+aiosqlite:////srv/zhaoshang/var/zhaoshang.db
RUN groupadd --system zhaoshang && useradd --system --gid zhaoshang --home /srv/zhaoshang zhaoshang
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/zhaoshang
COPY alembic.ini ./
COPY migrations ./migrations
RUN mkdir -p var && chown -R zhaoshang:zhaoshang /srv/zhaoshang
USER zhaoshang
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/readyz', timeout=4)"
ENTRYPOINT ["sh", "-c", "zhaoshang migrate && exec zhaoshang serve"]
