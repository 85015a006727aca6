"""Proves stripe_server.py speaks Stripe's wire format by driving it with the official `stripe` Python library.

Usage: stripe_client_check.py PORT [WEBHOOK_SECRET]        (WEBHOOK_SECRET defaults to whsec_pictor_test)

Start the server first (`.venv/bin/python scripts/testservers/stripe_server.py DIR`) and pass the port it prints.
Prints one line per check; exits 0 when every check passes, 1 at the first that fails (naming it).
"""
import base64
import json
import sys
import urllib.request
import uuid

import stripe
from stripe._api_version import _ApiVersion

PORT = int(sys.argv[1])
SECRET = sys.argv[2] if len(sys.argv) > 2 else "whsec_pictor_test"
BASE = f"http://127.0.0.1:{PORT}"
client = stripe.StripeClient("sk_test_pictor", base_addresses={"api": BASE}, max_network_retries=0)
passed = 0


def check(name, condition, detail=""):
    global passed
    if not condition:
        print(f"FAIL {name}{': ' + str(detail)[:600] if detail else ''}", flush=True)
        sys.exit(1)
    passed += 1
    print(f"ok   {name}", flush=True)


def raises(name, error_class, call, **expected):
    """The call must raise error_class with the given attributes (http_status, code, param, ...)."""
    try:
        call()
    except error_class as error:
        check(f"{name}: raises {error_class.__name__}", True)
        for attribute, value in expected.items():
            actual = getattr(error, attribute, None)
            good = value(actual) if callable(value) else actual == value
            check(f"{name}: {attribute}", good, f"got {actual!r}")
        return error
    except Exception as error:  # noqa: BLE001 - any other error is the failure being reported
        check(name, False, f"raised {type(error).__name__}: {error}")
    check(name, False, f"did not raise {error_class.__name__}")


def control(path, payload=None, method="POST"):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def session_params(order="ord_1001", quantity=2):
    return {
        "mode": "payment",
        "success_url": "https://pictor.example/checkout/done?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://pictor.example/checkout/cancelled",
        "client_reference_id": order,
        "customer_email": "ada@example.com",
        "metadata": {"order_id": order, "user_id": "42"},
        "payment_intent_data": {"metadata": {"order_id": order}},
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": 1500,
                                       "product_data": {"name": "Pictor credits (100 images)"}},
                        "quantity": quantity}],
    }


version = _ApiVersion.CURRENT
print(f"stripe-python {stripe.VERSION}, API version {version}, server {BASE}")

# -- Checkout Session create, idempotency --
key = f"pictor-order-{uuid.uuid4()}"
session = client.v1.checkout.sessions.create(session_params(), {"idempotency_key": key})
headers = session.last_response.headers
check("create session: a stripe.checkout.Session", isinstance(session, stripe.checkout.Session), type(session))
check("create session: id cs_test_...", session.id.startswith("cs_test_"), session.id)
check("create session: url on checkout.stripe.com", session.url.startswith("https://checkout.stripe.com/"))
check("create session: open and unpaid", (session.status, session.payment_status) == ("open", "unpaid"))
check("create session: amount_total and currency", (session.amount_total, session.currency) == (3000, "usd"))
check("create session: payment_intent null", session.payment_intent is None)
check("create session: metadata, client_reference_id, mode, livemode",
      (session.metadata.to_dict(), session.client_reference_id, session.mode, session.livemode)
      == ({"order_id": "ord_1001", "user_id": "42"}, "ord_1001", "payment", False))
check("response headers: Request-Id req_...", headers.get("request-id", "").startswith("req_"), headers)
check(f"response headers: Stripe-Version {version}", headers.get("stripe-version") == version, headers)

again = client.v1.checkout.sessions.create(session_params(), {"idempotency_key": key})
check("same key, same params: same session back", again.id == session.id, again.id)
check("same key, same params: Idempotent-Replayed: true",
      again.last_response.headers.get("idempotent-replayed") == "true")
check("same key, same params: body replayed exactly", again.last_response.body == session.last_response.body)
raises("same key, other params", stripe.IdempotencyError,
       lambda: client.v1.checkout.sessions.create(session_params(quantity=3), {"idempotency_key": key}),
       http_status=400, user_message=lambda m: m == (
           "Keys for idempotent requests can only be used with the same parameters they were first used with. "
           f"Try using a key other than '{key}' if you meant to execute a different request."))

# -- errors --
wrong = stripe.StripeClient("sk_test_not_the_key_9876", base_addresses={"api": BASE}, max_network_retries=0)
raises("wrong API key", stripe.AuthenticationError, lambda: wrong.v1.checkout.sessions.retrieve(session.id),
       http_status=401, user_message=lambda m: m.startswith("Invalid API Key provided: sk_test_") and m.endswith("9876")
       and "not_the_key" not in m)
raises("unknown session", stripe.InvalidRequestError, lambda: client.v1.checkout.sessions.retrieve("cs_test_nope"),
       http_status=404, code="resource_missing", param="session",
       user_message="No such checkout.session: 'cs_test_nope'")
params = session_params()
del params["success_url"]
raises("missing success_url", stripe.InvalidRequestError, lambda: client.v1.checkout.sessions.create(params),
       http_status=400, code="parameter_missing", param="success_url",
       user_message="Missing required param: success_url.")
params = session_params()
del params["line_items"][0]["price_data"]["unit_amount"]
raises("missing line_items[0][price_data][unit_amount]", stripe.InvalidRequestError,
       lambda: client.v1.checkout.sessions.create(params), http_status=400, code="parameter_missing",
       param="line_items[0][price_data][unit_amount]")
raises("unknown parameter", stripe.InvalidRequestError,
       lambda: client.v1.checkout.sessions.create({**session_params(), "colour": "blue"}),
       http_status=400, code="parameter_unknown", param="colour")
raises("unknown URL", stripe.InvalidRequestError, lambda: client.raw_request("get", "/v1/whatever"),
       http_status=404, user_message=lambda m: m.startswith("Unrecognized request URL (GET: /v1/whatever). Please see"))
raises("wrong method on a known URL", stripe.InvalidRequestError,
       lambda: client.raw_request("delete", f"/v1/checkout/sessions/{session.id}"), http_status=404,
       user_message=lambda m: m.startswith(f"Unrecognized request URL (DELETE: /v1/checkout/sessions/{session.id})"))
basic = urllib.request.Request(f"{BASE}/v1/checkout/sessions/{session.id}", headers={
    "Authorization": "Basic " + base64.b64encode(b"sk_test_pictor:").decode()})
with urllib.request.urlopen(basic) as response:
    check("HTTP basic auth with the key as user", json.loads(response.read())["id"] == session.id)

# -- the customer pays --
done = control(f"/_test/checkout/sessions/{session.id}/complete",
               {"outcome": "paid", "fingerprint": "fpPictorCard01", "risk_level": "elevated"})
check("complete via /_test", done["session"]["status"] == "complete", done)
session = client.v1.checkout.sessions.retrieve(session.id)
check("retrieve session: complete and paid", (session.status, session.payment_status) == ("complete", "paid"))
check("retrieve session: payment_intent pi_...", (session.payment_intent or "").startswith("pi_"))
expanded = client.v1.checkout.sessions.retrieve(session.id, {"expand": ["payment_intent", "line_items"]})
check("retrieve session expand payment_intent: a stripe.PaymentIntent",
      isinstance(expanded.payment_intent, stripe.PaymentIntent))
check("retrieve session expand line_items: quantity 2, unit_amount 1500",
      (expanded.line_items.data[0].quantity, expanded.line_items.data[0].price.unit_amount) == (2, 1500))
intent = client.v1.payment_intents.retrieve(session.payment_intent, {"expand": ["latest_charge"]})
charge = intent.latest_charge
check("payment intent: succeeded, amount 3000, metadata",
      (intent.status, intent.amount, intent.metadata.to_dict()) == ("succeeded", 3000, {"order_id": "ord_1001"}))
check("expand latest_charge: a stripe.Charge", isinstance(charge, stripe.Charge), type(charge))
check("charge: payment_method_details.card.fingerprint",
      charge.payment_method_details.card.fingerprint == "fpPictorCard01")
check("charge: outcome.risk_level elevated, risk_score, network_status",
      (charge.outcome.risk_level, charge.outcome.network_status) == ("elevated", "approved_by_network")
      and isinstance(charge.outcome.risk_score, int))
check("charge: amount_refunded 0, refunded false, payment_intent",
      (charge.amount_refunded, charge.refunded, charge.payment_intent) == (0, False, intent.id))
raises("unknown payment intent", stripe.InvalidRequestError, lambda: client.v1.payment_intents.retrieve("pi_nope"),
       http_status=404, code="resource_missing", param="intent")

# -- refunds --
refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": 1000,
                                   "metadata": {"reason_code": "customer_request"}})
check("partial refund: a stripe.Refund re_..., succeeded, 1000",
      isinstance(refund, stripe.Refund) and refund.id.startswith("re_")
      and (refund.status, refund.amount, refund.charge, refund.payment_intent) == ("succeeded", 1000, charge.id,
                                                                                  intent.id))
raises("refund more than is left", stripe.InvalidRequestError,
       lambda: client.v1.refunds.create({"payment_intent": intent.id, "amount": 5000}), http_status=400,
       code="amount_too_large", param="amount",
       user_message="Refund amount ($50.00) is greater than unrefunded amount on charge ($20.00)")
rest = client.v1.refunds.create({"charge": charge.id})
check("refund the rest (no amount): 2000", rest.amount == 2000, rest.amount)
raises("refund a fully refunded charge", stripe.InvalidRequestError,
       lambda: client.v1.refunds.create({"payment_intent": intent.id}), http_status=400,
       code="charge_already_refunded", user_message=f"Charge {charge.id} has already been refunded.")
charge = client.v1.charges.retrieve(charge.id)
check("charge after refunds: amount_refunded 3000, refunded true", (charge.amount_refunded, charge.refunded)
      == (3000, True))

# -- disputes --
dispute = control(f"/_test/charges/{charge.id}/dispute")
dispute = client.v1.disputes.retrieve(dispute["id"])
check("dispute: a stripe.Dispute du_..., needs_response, fraudulent",
      isinstance(dispute, stripe.Dispute) and dispute.id.startswith("du_")
      and (dispute.status, dispute.reason, dispute.charge, dispute.amount) == ("needs_response", "fraudulent",
                                                                              charge.id, 3000))
control(f"/_test/disputes/{dispute.id}/close", {"status": "won"})
check("dispute closed: won", client.v1.disputes.retrieve(dispute.id).status == "won")

# -- asynchronous payments --
slow = client.v1.checkout.sessions.create(session_params("ord_1002", 1))
control(f"/_test/checkout/sessions/{slow.id}/complete", {"outcome": "processing"})
slow = client.v1.checkout.sessions.retrieve(slow.id)
check("processing: session complete but unpaid", (slow.status, slow.payment_status) == ("complete", "unpaid"))
control(f"/_test/checkout/sessions/{slow.id}/async", {"succeeded": True})
check("async succeeded: session paid", client.v1.checkout.sessions.retrieve(slow.id).payment_status == "paid")
failing = client.v1.checkout.sessions.create(session_params("ord_1003", 1))
control(f"/_test/checkout/sessions/{failing.id}/complete", {"outcome": "processing"})
control(f"/_test/checkout/sessions/{failing.id}/async", {"succeeded": False})
check("async failed: session unpaid", client.v1.checkout.sessions.retrieve(failing.id).payment_status == "unpaid")

# -- events and their signatures --
listed = control("/_test/events", method="GET")
types = [event["type"] for event in listed]
for wanted in ("checkout.session.completed", "charge.refunded", "refund.created", "charge.dispute.created",
               "charge.dispute.closed", "checkout.session.async_payment_succeeded",
               "checkout.session.async_payment_failed"):
    check(f"events include {wanted}", wanted in types, types)
for event in listed:
    try:
        parsed = stripe.Webhook.construct_event(event["payload"], event["signature"], SECRET)
    except stripe.SignatureVerificationError as error:
        check(f"event {event['id']} ({event['type']}) verifies with secret {SECRET}", False, error)
    if not (isinstance(parsed, stripe.Event) and parsed.id == event["id"] and parsed.type == event["type"]
            and parsed.api_version == version and parsed.livemode is False):
        check(f"event {event['id']} ({event['type']})", False, event["payload"][:300])
check(f"all {len(listed)} events verify with stripe.Webhook.construct_event", True)
completed = next(event for event in listed if event["type"] == "checkout.session.completed"
                 and json.loads(event["payload"])["data"]["object"]["id"] == session.id)
parsed = stripe.Webhook.construct_event(completed["payload"], completed["signature"], SECRET)
check("checkout.session.completed: data.object is a stripe.checkout.Session with the order metadata",
      isinstance(parsed.data.object, stripe.checkout.Session) and parsed.data.object.metadata["order_id"]
      == "ord_1001" and parsed.data.object.payment_status == "paid")
raises("tampered payload", stripe.SignatureVerificationError, lambda: stripe.Webhook.construct_event(
    completed["payload"].replace("ord_1001", "ord_9999"), completed["signature"], SECRET))
raises("wrong secret", stripe.SignatureVerificationError, lambda: stripe.Webhook.construct_event(
    completed["payload"], completed["signature"], "whsec_somebody_else"))
refunded = [json.loads(event["payload"]) for event in listed if event["type"] == "charge.refunded"]
refunded = [event for event in refunded if event["data"]["object"]["id"] == charge.id]
check("charge.refunded events carry the cumulative amount_refunded (1000, then 3000)",
      [event["data"]["object"]["amount_refunded"] for event in refunded] == [1000, 3000], refunded)
check("charge.refunded previous_attributes (0, then 1000 and refunded false)",
      [event["data"]["previous_attributes"] for event in refunded]
      == [{"amount_refunded": 0}, {"amount_refunded": 1000, "refunded": False}])
created = next(json.loads(event["payload"]) for event in listed if event["type"] == "refund.created"
               and event["payload"].find(refund.id) >= 0)
check("refund.created: request names the API request and its idempotency key",
      created["request"]["id"].startswith("req_") and created["request"]["idempotency_key"])
fetched = client.v1.events.retrieve(completed["id"])
check("GET /v1/events/{id}: the same event", fetched.id == completed["id"] and fetched.type == completed["type"])

print(f"all {passed} checks passed")
