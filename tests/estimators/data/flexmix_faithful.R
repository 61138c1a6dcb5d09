# flexmix on R's faithful (the rows of emkit's old_faithful.csv): waiting ~ eruptions, K = 2,
# with constant weights and with the concomitant FLXPmultinom(~ eruptions), the
# maximum-likelihood sigma (see flexmix_npreg.R), best of 20 random starts each.
# Writes flexmix_faithful.csv. Run from this folder: Rscript flexmix_faithful.R
suppressPackageStartupMessages(library(flexmix))
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
best <- function(concomitant) {
  set.seed(1)
  fits <- lapply(1:20, function(i) {
    args <- list(waiting ~ eruptions, data = faithful, k = 2, model = mle_model(), control = control)
    if (!is.null(concomitant)) args$concomitant <- concomitant
    tryCatch(do.call(flexmix, args), error = function(e) NULL)
  })
  fits <- Filter(function(f) !is.null(f) && length(f@prior) == 2, fits)
  fits[[which.max(sapply(fits, function(f) as.numeric(logLik(f))))]]
}
rows <- character(0)
add <- function(fit, quantity, component, value) {
  rows <<- c(rows, sprintf("%s,%s,%d,%.17g", fit, quantity, component, value))
}
for (name in c("constant", "gating")) {
  fit <- best(if (name == "gating") tight_multinom(~ eruptions) else NULL)
  p <- parameters(fit)
  add(name, "loglik", 0, as.numeric(logLik(fit)))
  add(name, "bic", 0, BIC(fit))
  for (k in 1:2) {
    add(name, "intercept", k, p["coef.(Intercept)", k])
    add(name, "coef_eruptions", k, p["coef.eruptions", k])
    add(name, "sigma", k, p["sigma", k])
  }
}
writeLines(c(sprintf("# flexmix %s, nnet %s, %s", packageVersion("flexmix"),
                     packageVersion("nnet"), R.version.string),
             "fit,quantity,component,value", rows), "flexmix_faithful.csv")
