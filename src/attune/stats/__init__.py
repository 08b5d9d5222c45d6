"""Trial statistics: the MMRM and the analyses MDMA-assisted therapy trials report.

NumPy, SciPy and statsmodels only; no web framework.
"""
