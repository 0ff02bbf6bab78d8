# The training image Vertex AI custom jobs run (compute.vertex.image_uri in the gcp profile).
# Every heavy step is `python -m <module>`; Vertex sets the command per job, so the image has
# no ENTRYPOINT. Build and push: see README ("The training image").
#
# CUDA runtime + cuDNN base; torch's Linux wheels from PyPI bundle their own CUDA libraries,
# so the driver is all the host must provide.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Python 3.11: pyproject.toml requires >=3.11,<3.12. The base image tag pins the OS packages.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3.11 python3.11-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3.11 -m venv /opt/venv \
    && useradd --create-home --uid 1000 trainer
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app

# torch first, in its own layer: it is the largest download and changes least often.
# Same pins as pyproject.toml (a test checks they match).
RUN pip install torch==2.13.0 accelerate==1.15.0

# The package with exactly the pins of pyproject.toml.
COPY pyproject.toml README.md ./
COPY retention_assets ./retention_assets
COPY resources ./resources
COPY configs ./configs
# The build fails if a step module cannot be imported (a test checks these modules exist).
RUN pip install . \
    && python -c "import importlib; [importlib.import_module(m) for m in ('resources.compute.entry', 'resources.compute.churn_probe')]"

USER trainer

# Vertex replaces this with the job's command (python -m <module>, torchrun or accelerate launch).
CMD ["python", "-m", "resources.compute.churn_probe"]
