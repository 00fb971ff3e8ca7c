"""The global, seedable random number generator.

Everything random in minicnn (``randn``, ``rand``, dropout masks, parameter
initialisation, data shuffling) draws from this one generator, so
``minicnn.manual_seed(s)`` makes a whole run repeatable.
"""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator and return it."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator() -> np.random.Generator:
    """The generator every random draw in minicnn uses."""
    return _generator


def get_rng_state() -> dict:
    """The generator's state, a plain dict (JSON-serialisable), for checkpoints."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    _generator.bit_generator.state = state
