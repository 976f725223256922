"""Everything between the corpus's Parquet shards and a ``Batch``: shard discovery and seeded
streams, images, the WordPiece tokenizer, the pretraining tasks (paper section 3.2) and the
resumable data loader. Imports nothing of the network (``model.nn``), so data code runs in
loader workers without building a model."""
