# syntax=docker/dockerfile:1
# One image for every meetdesk service; docker-compose.yml picks the command per container:
#   python -m shared.migrate <name>
#   faststream run services.<name>.main:app --host 0.0.0.0 --port 800x --workers N

# ---- build: dependencies first (cached until pyproject.toml changes), then the project ----
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

COPY . .
# runtime dependencies only (no [dev] extras); non-editable so the image needs no source tree
RUN pip install --no-deps . \
 && python -m compileall -q /opt/venv/lib/python3.11/site-packages/shared /opt/venv/lib/python3.11/site-packages/services

# ---- runtime ----
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 meetdesk \
 && useradd --system --uid 10001 --gid meetdesk --home-dir /app --shell /usr/sbin/nologin meetdesk \
 && install -d -o meetdesk -g meetdesk /app

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
USER meetdesk

EXPOSE 8001 8002 8003 8004
# compose always sets the command; this default only shows how to start one
CMD ["faststream", "run", "--help"]
