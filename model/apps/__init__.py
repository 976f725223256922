"""The paper's applications (section 4) built on the pretrained model: captioning first."""
