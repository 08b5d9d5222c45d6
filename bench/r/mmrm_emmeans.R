# R's side of bench/bench_mmrm_e2e.py: what `attune analyze mmrm --json` does, with mmrm + emmeans.
#   Rscript bench/r/mmrm_emmeans.R DATA.csv Satterthwaite|Kenward-Roger          (the command)
#   Rscript bench/r/mmrm_emmeans.R DATA.csv Kenward-Roger REPS                   (in-process timing)
# The command reads fev_data, fits FEV1 ~ ARMCD*AVISIT + RACE + SEX + us(AVISIT | USUBJID) (REML),
# and prints one JSON object: coefficients, LS means of ARMCD by AVISIT and TRT - PBO by AVISIT.
# With REPS it times fit + coefficients + LS means + contrasts REPS times and prints
# "RESULT {json}" with the median in seconds (the Kenward-Roger inference figure).
# Not run on the machine of bench/results/mmrm.md (R was not installed there).
suppressPackageStartupMessages({
  library(mmrm)
  library(emmeans)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d <- d[!is.na(d$FEV1), ]
d$USUBJID <- factor(d$USUBJID)
d$AVISIT <- factor(d$AVISIT)
d$ARMCD <- relevel(factor(d$ARMCD), "PBO")
d$RACE <- relevel(factor(d$RACE), "Asian")
d$SEX <- relevel(factor(d$SEX), "Male")
analyse <- function() {
  fit <- mmrm(FEV1 ~ ARMCD * AVISIT + RACE + SEX + us(AVISIT | USUBJID), data = d,
              method = args[2])
  em <- emmeans(fit, ~ ARMCD | AVISIT)
  list(
    deviance = deviance(fit),
    coefficients = as.data.frame(summary(fit)$coefficients),
    lsmeans = as.data.frame(summary(em)),
    contrasts = as.data.frame(summary(contrast(em, "trt.vs.ctrl", ref = "PBO"), infer = TRUE))
  )
}
if (length(args) < 3) {
  cat(toJSON(analyse(), digits = NA), "\n")
} else {
  reps <- as.integer(args[3])
  invisible(analyse())
  times <- numeric(reps)
  for (i in seq_len(reps)) {
    t0 <- proc.time()[["elapsed"]]
    invisible(analyse())
    times[i] <- proc.time()[["elapsed"]] - t0
  }
  cat(sprintf('RESULT {"median_s": %.6f, "reps": %d, "versions": "%s, mmrm %s, emmeans %s"}\n',
              median(times), reps, R.version.string, as.character(packageVersion("mmrm")),
              as.character(packageVersion("emmeans"))))
}
