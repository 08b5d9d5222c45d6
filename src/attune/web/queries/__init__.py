"""Data queries (discrepancy management): raised by monitors and data managers or by the
protocol's data-quality rules, answered, corrected or disputed by the site, closed by the raiser."""
