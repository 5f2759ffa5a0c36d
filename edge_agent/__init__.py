"""The MyEnergy edge agent for Linux communication modules: poll, store, forward."""

__version__ = "0.1.0"
