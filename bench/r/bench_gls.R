# Time nlme::gls on the unstructured MMRM (corSymm + varIdent, REML), for bench/bench_mmrm.py.
#   Rscript bench/r/bench_gls.R fev|bcva REPS
# Prints "RESULT {json}" with the median time in seconds.
suppressPackageStartupMessages(library(nlme))
args <- commandArgs(trailingOnly = TRUE)
dataset <- args[1]
reps <- as.integer(args[2])
if (dataset == "fev") {
  d <- read.csv("tests/data/fev_data.csv")
  d <- d[!is.na(d$FEV1), ]
  d$ARMCD <- relevel(factor(d$ARMCD), "PBO")
  d$AVISIT <- factor(d$AVISIT)
  d$vnum <- as.integer(d$AVISIT)
  f <- FEV1 ~ ARMCD * AVISIT + RACE + SEX
  fit <- function() gls(f, data = d, correlation = corSymm(form = ~ vnum | USUBJID),
                        weights = varIdent(form = ~ 1 | AVISIT), method = "REML")
} else {
  d <- read.csv("tests/data/bcva_data.csv")
  d <- d[!is.na(d$BCVA_CHG), ]
  d$AVISIT <- factor(d$AVISIT)
  d$vnum <- as.integer(d$AVISIT)
  f <- BCVA_CHG ~ BCVA_BL + RACE + ARMCD * AVISIT
  fit <- function() gls(f, data = d, correlation = corSymm(form = ~ vnum | USUBJID),
                        weights = varIdent(form = ~ 1 | AVISIT), method = "REML")
}
times <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  m <- fit()
  times[i] <- proc.time()[["elapsed"]] - t0
}
cat(sprintf('RESULT {"median_s": %.6f, "reps": %d, "deviance": %.8f, "versions": "%s, nlme %s"}\n',
            median(times), reps, -2 * as.numeric(logLik(m)), R.version.string,
            as.character(packageVersion("nlme"))))
