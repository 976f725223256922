"""``m6 report``: one self-contained HTML page about a corpus run (and a pretraining run).

``build.write_report`` is the entry point; ``collect`` reads the shards (streaming),
``thresholds`` reads the filter settings, ``training`` reads a run's metrics, ``svg`` draws,
``thumbs`` shrinks the sampled images, ``page`` assembles the HTML and ``browser`` drives headless
Chromium for the tests. Imports point ``report -> corpus -> schemas``: the report never imports
Beam, torch or the trainer.
"""
