"""emkit: Expectation-Maximization for latent-variable models, on one engine."""

__version__ = "0.1.0"
