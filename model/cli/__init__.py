"""The model's commands behind ``m6``: ``pretrain``, ``generate``, ``params`` and
``tokenizer``; each module holds one command's arguments and ``main``."""
