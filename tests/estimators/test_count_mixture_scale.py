"""SQUAREM and threads for the count mixtures (issue 5: every mixture, one engine)."""

import numpy as np
import pytest

import emkit
from emkit.families import BernoulliFamily, CategoricalFamily, MultinomialFamily, PoissonFamily


def overlapping_data(name, n=300, seed=0):
    """Two heavily overlapping components: plain EM converges slowly."""
    rng = np.random.default_rng(seed)
    first = np.arange(2 * n)[:, None] < n
    if name == "poisson":
        return np.where(first, rng.poisson([3, 5], (2 * n, 2)), rng.poisson([4, 6], (2 * n, 2)))
    if name == "categorical":
        a = rng.choice(4, p=[0.3, 0.3, 0.2, 0.2], size=(2 * n, 3))
        return np.where(first, a, rng.choice(4, size=(2 * n, 3)))
    if name == "bernoulli":
        return (rng.uniform(size=(2 * n, 6)) < np.where(first, 0.4, 0.6)).astype(int)
    a = rng.multinomial(20, [0.3, 0.3, 0.4], size=2 * n)
    return np.where(first, a, rng.multinomial(20, [0.34, 0.33, 0.33], size=2 * n))


ESTIMATORS = {
    "poisson": emkit.PoissonMixture,
    "categorical": emkit.CategoricalMixture,
    "bernoulli": emkit.BernoulliMixture,
    "multinomial": emkit.MultinomialMixture,
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_squarem_never_worse_and_fewer_e_steps(name):
    X = overlapping_data(name)
    options = dict(tol=1e-8, max_iter=20000, random_state=0, init_params="random")
    plain = ESTIMATORS[name](2, **options).fit(X)
    fast = ESTIMATORS[name](2, accelerate="squarem", **options).fit(X)
    assert plain.converged_ and fast.converged_
    assert fast.log_likelihood_ >= plain.log_likelihood_ - 1e-7 * len(X)
    assert 2 * fast.n_e_steps_ < plain.n_e_steps_


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_threads_give_the_same_fit(name):
    X = overlapping_data(name, n=2000)
    fits = [
        ESTIMATORS[name](2, random_state=0, chunk_size=500, n_jobs=n_jobs).fit(X)
        for n_jobs in (1, 2)
    ]
    assert fits[0].log_likelihood_ == fits[1].log_likelihood_
    assert fits[0].n_iter_ == fits[1].n_iter_


@pytest.mark.parametrize(
    ("family", "params"),
    [
        (PoissonFamily(), [[0.5, 3.0], [2.0, 7.5]]),
        (BernoulliFamily(), [[0.1, 0.5, 0.9], [0.3, 0.7, 0.2]]),
        (MultinomialFamily(), [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]),
        (CategoricalFamily(3), [[[0.2, 0.3, 0.5]], [[0.6, 0.3, 0.1]]]),
    ],
)
def test_pack_unpack_round_trip(family, params):
    start = family.make_params(np.array(params))
    field = family.param_names[0]
    restored = family.unpack(family.pack(start), start)
    np.testing.assert_allclose(getattr(restored, field), getattr(start, field), rtol=1e-12)
    assert family.pack(start).ndim == 1
