"""Both built-in encoders pass the encoder contract suite."""

from engine.testing import EncoderContract


class TestOneHot(EncoderContract):
    name = "onehot"


class TestSklearnOneHot(EncoderContract):
    name = "sklearn-onehot"
