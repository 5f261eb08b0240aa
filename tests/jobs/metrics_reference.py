#!/usr/bin/env python3
"""Prints the scikit-learn 1.2 values that tests/jobs/metrics_test.cc expects.

Run by hand (Debian 12: apt-get install python3-sklearn, which is 1.2.1); not part of the
build. Predictions are float32, as XGBoost returns them, widened to float64 as mlcron does.
"""
import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import (brier_score_loss, log_loss, mean_absolute_error,
                             mean_poisson_deviance, mean_squared_error, roc_auc_score)


def f32(values):
    return np.array(values, np.float32).astype(np.float64)


def ece(y, p):
    """15-bin ECE from calibration_curve's own bins (empty bins dropped)."""
    prob_true, prob_pred = calibration_curve(y, p, n_bins=15)
    bins = np.linspace(0, 1, 16)
    total = np.bincount(np.searchsorted(bins[1:-1], p), minlength=16)
    return np.sum(np.abs(prob_true - prob_pred) * total[total != 0] / len(y))


print("linspace edges are i * (1/15):",
      all(np.linspace(0, 1, 16)[i] == i * (1.0 / 15) for i in range(16)))
print("auc ties %.17g" % roc_auc_score([0, 1, 0, 1], f32([.5, .5, .2, .9])))
print("log loss clipped %.17g" % log_loss([1, 0, 1], np.array([1.0, 1.0, 0.0])))
print("binary ece %.17g" % ece(np.array([0, 1, 1, 1, 1, 1]), f32([.05, .05, .5, .5, .95, 1])))

P = f32([[.7, .2, .1], [.2, .3, .5], [.1, .8, .1], [.3, .3, .4], [.5, .1, .4], [.2, .6, .2]])
Y = np.array([0, 2, 1, 2, 1, 0])
print("multiclass ovr macro auc %.17g" % roc_auc_score(Y, P, multi_class="ovr", average="macro"))
print("multiclass log loss %.17g" % log_loss(Y, P))
print("multiclass top-label ece %.17g" % ece((P.argmax(1) == Y).astype(float), P.max(1)))
print("multiclass brier (sum over classes) %.17g" % np.mean(np.sum((P - np.eye(3)[Y]) ** 2, 1)))

yb, pb = [0, 1, 1, 0, 1], f32([.1, .6, .5, .5, .9])
print("binary log loss %.17g brier %.17g auc %.17g ece %.17g" %
      (log_loss(yb, pb), brier_score_loss(yb, pb), roc_auc_score(yb, pb), ece(np.array(yb), pb)))
print("poisson deviance %.17g" % mean_poisson_deviance([0, 1, 4], [.5, 1, 2]))
print("rmse %.17g mae %.17g" % (mean_squared_error([1, 2, 4], [1.5, 2, 3], squared=False),
                                mean_absolute_error([1, 2, 4], [1.5, 2, 3])))
