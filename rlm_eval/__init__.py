"""Evaluation: question sets with expected answers, graders, built-in generated suites, and the
runner that scores every question under several configurations.

A composition root like the CLI: it drives `rlm_engine` runs and records them through `storage`.
The generators (`rlm_eval.suites`) and graders (`rlm_eval.graders`) depend on neither.
"""
