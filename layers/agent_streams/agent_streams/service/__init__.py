"""The rules: every operation of the contract as a function of validated arguments.

Modules by subject: ``threads``, ``streams`` (lifecycle of one stream),
``appends`` (add and read deltas), ``deletion``, ``lifecycle`` (the scheduler
targets), ``messages`` (streaming_messages). Side effects come from
:func:`agent_streams.service.context.services`.
"""
