# Reference fits of flexmix (R) on npreg.csv, written to flexmix_npreg.csv.
# Run from this folder: Rscript flexmix_npreg.R   (Debian: apt-get install r-cran-flexmix)
#
# Every fit starts from the partition in the column `start` (flexmix's `cluster=`),
# as emkit's test does, and runs to a tight tolerance with no component removed
# (minprior = 0). Three fits:
#   stock        flexmix's FLXMRglm as shipped: its sigma is sqrt(sum w r^2 / mean(w) /
#                (n - rank)), a degrees-of-freedom-corrected value, not the M-step of EM
#   mle          the same driver with the maximum-likelihood sigma sqrt(sum w r^2 / sum w),
#                i.e. exact EM for the mixture of regressions
#   mle_gating   mle with the concomitant model FLXPmultinom(~ x) (multinomial-logit
#                weights), its nnet fit run to a tight tolerance
suppressPackageStartupMessages(library(flexmix))
data <- read.csv("npreg.csv")
control <- list(iter.max = 20000, tolerance = 1e-14, minprior = 0, verbose = 0)

mle_model <- function(formula = . ~ .) {
  model <- FLXMRglm(formula)
  define <- model@defineComponent
  model@fit <- function(x, y, w, component) {
    fit <- lm.wfit(x, y, w = w)
    define(para = list(coef = coef(fit), df = ncol(x) + 1,
                       sigma = sqrt(sum(w * fit$residuals^2) / sum(w))))
  }
  model
}

tight_multinom <- function(formula) {
  concomitant <- FLXPmultinom(formula)
  multinom_fit <- get("multinom.fit", envir = environment(concomitant@fit))
  concomitant@fit <- function(x, y, w, ...) {
    multinom_fit(x, y, w, maxit = 100000, reltol = 1e-15, abstol = 0)$fitted.values
  }
  concomitant
}

fits <- list(
  stock = flexmix(yn ~ x + I(x^2), data = data, cluster = data$start,
                  model = FLXMRglm(), control = control),
  mle = flexmix(yn ~ x + I(x^2), data = data, cluster = data$start,
                model = mle_model(), control = control),
  mle_gating = flexmix(yn ~ x + I(x^2), data = data, cluster = data$start,
                       model = mle_model(), concomitant = tight_multinom(~ x),
                       control = control)
)

rows <- character(0)
add <- function(fit, quantity, component, value) {
  rows <<- c(rows, sprintf("%s,%s,%d,%.17g", fit, quantity, component, value))
}
for (name in names(fits)) {
  fit <- fits[[name]]
  p <- parameters(fit)
  add(name, "loglik", 0, as.numeric(logLik(fit)))
  add(name, "iterations", 0, fit@iter)
  add(name, "converged", 0, as.numeric(fit@converged))
  for (k in seq_len(ncol(p))) {
    add(name, "intercept", k, p["coef.(Intercept)", k])
    add(name, "coef_x", k, p["coef.x", k])
    add(name, "coef_x2", k, p["coef.I(x^2)", k])
    add(name, "sigma", k, p["sigma", k])
  }
  if (name == "mle_gating") {
    g <- parameters(fit, which = "concomitant")
    for (k in seq_len(ncol(g))) {
      add(name, "gating_intercept", k, g[1, k])
      add(name, "gating_x", k, g[2, k])
    }
  } else {
    for (k in seq_along(fit@prior)) add(name, "prior", k, fit@prior[k])
  }
}
writeLines(c(sprintf("# flexmix %s, nnet %s, %s", packageVersion("flexmix"),
                     packageVersion("nnet"), R.version.string),
             "fit,quantity,component,value", rows), "flexmix_npreg.csv")
