"""Dataflow, Spark and Flink can't be reached from here, so these tests build the options the
README's commands give and check what Beam would stage for the workers: the project's sdist
(built from pyproject.toml, with the corpus packages and their data files, without torch)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PortableOptions,
    SetupOptions,
    StandardOptions,
)
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.portability.stager import Stager

from pipelines.options import pipeline_runner_and_options

ROOT = Path(__file__).resolve().parents[2]

DATAFLOW_ARGS = [
    "--project=my-project", "--region=europe-west4", "--temp_location=gs://my-bucket/tmp",
    f"--setup_file={ROOT / 'pyproject.toml'}", "--experiments=use_runner_v2",
    "--max_num_workers=50",
]


def test_dataflow_options_pass_through_untouched():
    runner, options = pipeline_runner_and_options("DataflowRunner", 1, DATAFLOW_ARGS)
    assert runner == "DataflowRunner"
    gcp = options.view_as(GoogleCloudOptions)
    assert (gcp.project, gcp.region, gcp.temp_location) == (
        "my-project", "europe-west4", "gs://my-bucket/tmp")
    assert options.view_as(SetupOptions).setup_file.endswith("pyproject.toml")


@pytest.mark.slow
def test_dataflow_stages_the_project_sdist(tmp_path):
    _, options = pipeline_runner_and_options("DataflowRunner", 1, DATAFLOW_ARGS)
    resources = Stager.create_job_resources(options, str(tmp_path),
                                            log_submission_env_dependencies=False)
    staged = {}
    for artifact in resources:
        role = beam_runner_api_pb2.ArtifactStagingToRolePayload()
        role.ParseFromString(artifact.role_payload)
        file_payload = beam_runner_api_pb2.ArtifactFilePayload()
        file_payload.ParseFromString(artifact.type_payload)
        staged[role.staged_name] = file_payload.path
    assert "workflow.tar.gz" in staged, f"no project package staged: {sorted(staged)}"
    sdist = Path(staged["workflow.tar.gz"])
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        pkg_info = tar.extractfile(next(n for n in names if n.endswith("/PKG-INFO"))).read()
    for module in ("pipelines/corpus_pipeline.py", "pipelines/sink.py", "corpus/stage.py",
                   "schemas/arrow.py", "m6/cli.py"):
        assert any(n.endswith(module) for n in names), f"{module} not in the staged sdist"
    requires = [line for line in pkg_info.decode().splitlines() if line.startswith("Requires-Dist")]
    core = [r for r in requires if "extra ==" not in r]
    assert any("apache-beam" in r for r in core)
    assert not any("torch" in r for r in core), "corpus workers must not install torch"


@pytest.mark.parametrize("runner,extra", [
    ("FlinkRunner", ["--flink_master=flink-jm:8081", "--environment_type=PROCESS",
                     "--environment_config={\"command\": \"/opt/apache/beam/boot\"}"]),
    ("SparkRunner", ["--spark_master_url=spark://spark-master:7077",
                     "--environment_type=DOCKER"]),
])
def test_portable_cluster_runners_keep_their_flags(runner, extra):
    name, options = pipeline_runner_and_options(runner, 1, [*extra,
                                                            f"--setup_file={ROOT / 'pyproject.toml'}"])
    assert name == runner
    assert options.view_as(PortableOptions).environment_type == extra[1].split("=", 1)[1]
    all_options = options.get_all_options(drop_default=True)
    key = extra[0].split("=", 1)[0].lstrip("-")
    assert all_options[key] == extra[0].split("=", 1)[1]


def test_local_runner_defaults():
    runner, options = pipeline_runner_and_options("PortableRunner", 1, [])
    portable = options.view_as(PortableOptions)
    assert (portable.job_endpoint, portable.environment_type) == ("embed", "LOOPBACK")
    runner, options = pipeline_runner_and_options("DirectRunner", 2, [])
    flags = options.get_all_options()
    assert flags["direct_num_workers"] == 2
    assert type(runner).__name__ == "FnApiRunner"  # by name, Beam would try Prism first
    # N worker processes of pipelines.worker (tests/pipelines/test_worker.py runs them)
    assert runner._default_environment.command_string.endswith(" -m pipelines.worker")
    # a mode the user gives is Beam's own
    runner, options = pipeline_runner_and_options(
        "DirectRunner", 2, ["--direct_running_mode=multi_threading"])
    assert options.get_all_options()["direct_running_mode"] == "multi_threading"
    assert type(runner._default_environment).__name__ == "EmbeddedPythonEnvironment"
    runner, _ = pipeline_runner_and_options("DirectRunner", 1, [])
    assert type(runner).__name__ == "FnApiRunner"
    with pytest.raises(ValueError, match="dask_client_address"):
        pipeline_runner_and_options("DaskRunner", 1, [])
    assert options.view_as(StandardOptions).runner is None
