"""Beam wiring: DoFns and PTransforms that run corpus stages, pipeline options, runners and sinks."""
