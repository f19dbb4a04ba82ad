"""Named experiments (the paper's tables): data, priors, fits and scores over seeds and categories, with reports."""
