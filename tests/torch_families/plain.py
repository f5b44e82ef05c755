"""The engineered features, one array."""


def encode(obs):
    return features(obs)
