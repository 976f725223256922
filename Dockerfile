# The Beam SDK worker image of m6: the official Beam Python SDK image of the pinned Beam version,
# with m6, kenlm (query module, lmplz and build_binary, compiled once here), fasttext and every
# other dependency at the exact versions of constraints.txt. Dataflow (--sdk_container_image),
# Flink and Spark (--environment_type DOCKER --environment_config) start their workers from it
# (README, "Running on a cluster").
#
#   docker build -t REGISTRY/m6-beam:0.1.0 . && docker push REGISTRY/m6-beam:0.1.0
#
# Every install step is scripts/install_worker.sh, which CI also runs (.ci/run).
FROM apache/beam_python3.11_sdk:2.77.0

WORKDIR /opt/m6
COPY pyproject.toml constraints.txt README.md ./
COPY scripts ./scripts
COPY m6 ./m6
COPY schemas ./schemas
COPY corpus ./corpus
COPY pipelines ./pipelines
COPY model ./model
COPY report ./report
RUN scripts/install_worker.sh --prefix /usr/local --system-packages \
    && rm -rf third_party/build /root/.cache/pip

# The base image's entry point (/opt/apache/beam/boot) starts the SDK harness; it is kept.
