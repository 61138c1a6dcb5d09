"""The peers' names that emkit does not use, and what to use instead.

Code ported from scikit-learn, hmmlearn, pykalman or statsmodels stops at the first
name emkit spells differently; these tables turn that stop into a one-line error that
names emkit's equivalent. The README's migration section has the full tables, with
the names that are the same but mean something else (priors, ``tol``).
"""

from __future__ import annotations

#: constructor keywords: peer name -> (peer, what emkit takes instead)
KEYWORDS = {
    # hmmlearn
    "n_iter": ("hmmlearn", "max_iter"),
    "params": ("hmmlearn", "learn=(...), e.g. learn=('transmat', 'means') for params='tm'"),
    "min_covar": ("hmmlearn", "reg_covar"),
    "covars_prior": (
        "hmmlearn",
        "covariance_prior (a scale matrix) with covariance_prior_strength",
    ),
    "covars_weight": ("hmmlearn", "covariance_prior_strength (pseudo-observations)"),
    "means_prior": ("hmmlearn", "mean_prior"),
    "means_weight": ("hmmlearn", "mean_prior_strength (pseudo-observations)"),
    "lambdas_prior": ("hmmlearn", "rate_prior with rate_prior_strength"),
    "lambdas_weight": ("hmmlearn", "rate_prior_strength"),
    "weights_prior": ("hmmlearn", "no Dirichlet prior on a GMMHMM's mixture weights yet"),
    "n_features": ("hmmlearn", "n_symbols (the alphabet size; features are read from X)"),
    "algorithm": ("hmmlearn", "decode(X, algorithm='viterbi' or 'map')"),
    "implementation": ("hmmlearn", "nothing: emkit has one (scaled, log-normalised) path"),
    # pykalman
    "transition_matrices": ("pykalman", "transition_matrix_init"),
    "observation_matrices": ("pykalman", "observation_matrix_init"),
    "transition_offsets": ("pykalman", "a constant column in U with control_transition_matrix"),
    "observation_offsets": (
        "pykalman",
        "a constant column in U with control_observation_matrix",
    ),
    "initial_state_mean": ("pykalman", "initial_state_mean_init"),
    "initial_state_covariance": ("pykalman", "initial_state_covariance_init"),
    "n_dim_state": ("pykalman", "state_dim"),
    "n_dim_obs": ("pykalman", "nothing: the observation dimension is read from X"),
    "em_vars": ("pykalman", "learn=(...) with emkit's parameter names, or 'all'"),
    # statsmodels
    "k_states": ("statsmodels", "state_dim"),
    "maxiter": ("statsmodels", "max_iter"),
    # scikit-learn's KMeans
    "copy_x": ("scikit-learn", "nothing: emkit's KMeans never modifies X"),
}

#: keywords whose peer depends on the estimator (an estimator's ``_peer_keywords``
#: adds to or overrides KEYWORDS)
STATE_SPACE_KEYWORDS = {
    "transition_covariance": ("pykalman", "transition_covariance_init"),
    "observation_covariance": ("pykalman", "observation_covariance_init"),
}
KMEANS_KEYWORDS = {
    "algorithm": ("scikit-learn", "nothing: emkit's KMeans runs Lloyd's algorithm"),
}

#: attributes and methods: peer name -> (peer, emkit's name)
ATTRIBUTES = {
    "covars_": ("hmmlearn", "covariances_ (in scikit-learn's covariance-type shapes)"),
    "monitor_": ("hmmlearn", "converged_, n_iter_, lower_bounds_ and trace_"),
    "lambdas_": ("hmmlearn", "rates_"),
    "n_features": ("hmmlearn", "n_features_in_ (and n_symbols_ for categorical symbols)"),
    "em": ("pykalman", "fit(X) (max_iter sets the number of iterations, learn what is learned)"),
    "loglikelihood": ("pykalman", "score(X)"),
    "transition_matrices": ("pykalman", "transition_matrix_"),
    "observation_matrices": ("pykalman", "observation_matrix_"),
}


def unexpected_keywords(estimator_name: str, keywords, peer_keywords: dict) -> TypeError:
    """The TypeError for constructor keywords that no level of the estimator took;
    ``peer_keywords`` adds the estimator's own entries to KEYWORDS."""
    table = {**KEYWORDS, **peer_keywords}
    name = sorted(keywords)[0]
    message = f"{estimator_name}() got an unexpected keyword argument {name!r}"
    if name in table:
        peer, instead = table[name]
        message += f": that is {peer}'s name; emkit's is {instead}"
    return TypeError(message)


def peer_attribute_error(estimator_name: str, name: str) -> AttributeError | None:
    """The AttributeError for a peer's attribute or method name, or None if not one."""
    if name not in ATTRIBUTES:
        return None
    peer, instead = ATTRIBUTES[name]
    return AttributeError(
        f"{estimator_name} has no attribute {name!r}: that is {peer}'s name; emkit's is {instead}"
    )


#: hmmlearn's one-letter parameter codes (its ``params`` and ``init_params``)
LETTER_CODES = {
    "s": "startprob",
    "t": "transmat",
    "m": "means",
    "c": "covariances",
    "w": "weights",
    "e": "emissionprob",
}


def learn_string_error(learn: str) -> ValueError:
    """The ValueError for ``learn`` given as one string: hmmlearn's letter codes (which
    it translates), or one name that should be in a list."""
    if learn and set(learn) <= set(LETTER_CODES):
        names = tuple(dict.fromkeys(LETTER_CODES[c] for c in learn))
        return ValueError(
            f"learn={learn!r} looks like hmmlearn's letter codes (its params); emkit's learn "
            f"lists the parameters EM updates by name: learn={names!r}"
        )
    return ValueError(
        f"learn={learn!r} is one string; give a list of the parameters EM updates, e.g. "
        f"learn=[{learn!r}]"
    )
