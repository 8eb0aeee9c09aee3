"""The evaluation: the hand-written question sets (see README.md) and the code that scores retrieval
and answers on them (`rag eval`): dataset, metrics, stats, protocols, runner, report, loaders, cli.
"""
