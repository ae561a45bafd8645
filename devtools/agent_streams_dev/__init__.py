"""agent-streams' development tools: the local stack, the demo, OpenAPI generation.

Nothing here ships in the Lambda layer, and nothing in the runtime imports it.
"""
