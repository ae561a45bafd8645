"""What ``sam local`` makes of the template, from the SAM CLI's own code (run by its Python).

``python sam_local_env.py TEMPLATE ENV_VARS_FILE REGION`` prints, as JSON, each function's
environment exactly as ``sam local invoke --env-vars ENV_VARS_FILE --region REGION`` builds
it (the template's Globals and the function's own variables, intrinsics resolved as the SAM
CLI resolves them, then the file's overrides: ``LocalLambdaRunner._make_env_vars``), its
handler and code folder, and the routes ``sam local start-api`` serves (with the function
behind each, found as start-api finds it).

It imports ``samcli``, so it runs in the SAM CLI's environment (``.venv-tools``), never in
the project's.
"""

from __future__ import annotations

import json
import os
import sys

from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider


def main(template: str, env_vars_file: str, region: str) -> None:
    # As InvokeContext does for `sam local invoke` / `start-api` with --region.
    stacks, _ = SamLocalStackProvider.get_stacks(
        template, global_parameter_overrides={"AWS::Region": region}
    )
    functions = SamFunctionProvider(stacks)
    with open(env_vars_file, encoding="utf-8") as handle:
        overrides = json.load(handle)
    folder = os.path.dirname(os.path.abspath(template))
    runner = LocalLambdaRunner(
        local_runtime=None,  # only the environment is asked for, nothing is run
        function_provider=functions,
        cwd=folder,
        real_path=folder,
        aws_region=region,
        env_vars_values=overrides,
    )
    found = {
        function.name: {
            "environment": runner._make_env_vars(function).resolve(),
            "handler": function.handler,
            "code": function.codeuri,
            "timeout": function.timeout,
        }
        for function in functions.get_all()
    }
    # As `sam local start-api --disable-authorizer` reads them (without that flag the SAM CLI
    # fails on the routes' conditional AuthorizerId, which it cannot resolve).
    routes = []
    for route in ApiProvider(stacks, cwd=folder, disable_authorizer=True).routes:
        function = functions.get(route.function_name) if route.function_name else None
        routes.append(
            {
                "function": None if function is None else function.name,
                "methods": sorted(route.methods),
                "path": route.path,
            }
        )
    json.dump({"functions": found, "routes": routes}, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:4])
