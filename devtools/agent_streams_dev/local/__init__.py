"""The local stack: the service on one machine, wired from ``template.yaml``.

``template`` reads the SAM template; ``stack`` builds its resources on an AWS
endpoint (an embedded moto server by default); the rest serve the HTTP API,
fire schedules and run the state machine.
"""
