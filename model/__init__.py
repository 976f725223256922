"""The M6 model in PyTorch, in rooms whose imports point one way (tests/test_house.py checks it):

- ``model.config``, ``model.moe_config``, ``model.presets``: the typed run configuration, shared
  by every room (imports no room);
- ``model.data``: tokenizer, Parquet shard streams, pretraining tasks, batches (imports no room
  but the config);
- ``model.nn``: the network (transformer, attention, MoE, patch encoder), built from a config and
  fed a ``model.data.batch.Batch`` (imports ``data`` for that type only);
- ``model.train``: loss, optimiser, metrics, checkpoints and the single-process training loop;
- ``model.distributed``: data and expert parallelism around the same loop (torch.distributed);
- ``model.infer``: loading a trained checkpoint and sampling from it;
- ``model.cli``: the ``m6 pretrain / generate / params / tokenizer`` commands;
- ``model.apps``: the paper's applications (section 4), fine-tuned from a pretrained model.
"""
