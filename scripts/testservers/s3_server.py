"""A real S3-compatible server for Pictor's tests (moto), with SigV4 signature checking on.

Usage: s3_server.py DIR
Starts moto's server on a 127.0.0.1 port the system picks with INITIAL_NO_AUTH_ACTION_COUNT=3, spends those
three unauthenticated calls on making an IAM user, its access key and an allow-all policy, writes
DIR/credentials.json ({"accessKeyId", "secretAccessKey"}), and prints "PORT n" once ready. From
then on every request must be signed with that key. Closing stdin stops it.
"""
import json
import os
import pathlib
import sys

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import logging  # noqa: E402

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402


def main():
    directory = pathlib.Path(sys.argv[1])
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Port 0: the system picks a free port as it binds (probing one first, then binding it, let
    # another process take it in between).
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    endpoint = f"http://127.0.0.1:{port}"
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam.create_user(UserName="pictor")
    key = iam.create_access_key(UserName="pictor")["AccessKey"]
    iam.put_user_policy(UserName="pictor", PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }))
    (directory / "credentials.json").write_text(json.dumps(
        {"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}))
    print(f"PORT {port}", flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
