"""A local stand-in for Stripe's API (Checkout, PaymentIntents, Charges, Refunds, Disputes, Events), for Pictor's tests.

Usage: stripe_server.py DIR [WEBHOOK_SECRET]        (WEBHOOK_SECRET defaults to whsec_pictor_test)

Answers as Stripe API version 2026-10-28.endive, the version pinned by the `stripe` Python library 16.1.0
(stripe/_api_version.py), and shapes every object as that version documents it. Prints "PORT n", serves on
127.0.0.1 until stdin closes, and records every /v1 request as DIR/N.json
{"method", "path" (with query), "headers" (lower-cased names), "body" (raw text)}.

Wire format, as Stripe's:
- Auth: only the secret key sk_test_pictor, as "Authorization: Bearer KEY" or HTTP basic with the key as the user.
  No key -> 401 "You did not provide an API key. ..."; any other key -> 401
  {"error": {"message": "Invalid API Key provided: sk_test_****abcd", "type": "invalid_request_error"}}.
- Requests are application/x-www-form-urlencoded with bracket notation (metadata[k]=v, line_items[0][quantity]=1),
  GET params in the query; expand[]=x (or expand[0]=x) expands the fields listed below.
- Every response has Request-Id: req_... and Stripe-Version: 2026-10-28.endive. A request asking for another
  Stripe-Version is refused (400): this stand-in renders objects in one version only.
- Unknown URL, or a known URL with the wrong method -> 404 {"error": {"message": "Unrecognized request URL
  (GET: /v1/x). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
  "type": "invalid_request_error"}} (Stripe routes on method and path together and has no 405).
- Other errors: {"error": {"code", "doc_url", "message", "param", "request_log_url", "type"}}: 400 for bad params
  (parameter_missing, parameter_unknown, parameter_invalid_integer, ...), 404 resource_missing for unknown ids.
- POST with Idempotency-Key: the same key and params replay the first status and body with Idempotent-Replayed: true
  (Original-Request names the first request); the same key with other params (or another path) -> 400
  idempotency_error. As on Stripe, requests refused while validating their params are not saved.

Stripe routes: POST /v1/checkout/sessions (mode=payment only, line_items with price_data only),
GET /v1/checkout/sessions/{id}, GET /v1/checkout/sessions/{id}/line_items, GET /v1/payment_intents/{id},
GET /v1/charges/{id}, POST /v1/refunds, GET /v1/refunds/{id}, GET /v1/disputes/{id}, GET /v1/events/{id}.
Expandable: session payment_intent, line_items; payment intent latest_charge; charge payment_intent, refunds;
refund charge, payment_intent; dispute charge, payment_intent (dotted paths such as latest_charge.payment_intent work).

Test-control routes (not Stripe's, no auth, JSON in and out), standing in for the customer and the bank:
- POST /_test/checkout/sessions/{id}/complete {"outcome": "paid"|"processing", "fingerprint", "risk_level":
  "normal"|"elevated"|"highest", "risk_score", "network_status", "brand", "last4", "email", "name"} (all optional)
  -> {"session", "payment_intent", "charge"}. Events: paid: payment_intent.created, charge.succeeded,
  payment_intent.succeeded, checkout.session.completed; processing: payment_intent.created,
  payment_intent.processing, checkout.session.completed.
- POST /_test/checkout/sessions/{id}/async {"succeeded": true|false}: succeeded: charge.succeeded,
  payment_intent.succeeded, checkout.session.async_payment_succeeded; failed: payment_intent.payment_failed,
  checkout.session.async_payment_failed.
- POST /_test/checkout/sessions/{id}/expire: checkout.session.expired.
- POST /_test/charges/{id}/dispute {"reason", "amount"} (optional) -> the dispute; events charge.dispute.created,
  charge.dispute.funds_withdrawn.
- POST /_test/disputes/{id}/close {"status": "won"|"lost"} -> the dispute; events charge.dispute.closed
  (previous_attributes.status) and, when won, charge.dispute.funds_reinstated.
- GET /_test/events -> [{"id", "type", "payload", "signature"}], oldest first: payload is the exact JSON text Stripe
  would POST, signature the Stripe-Signature header for it signed now: t=<unix>,v1=<hex HMAC-SHA256 of
  "<t>.<payload>" keyed with the whole secret string's UTF-8 bytes>.
POST /v1/refunds emits refund.created then charge.refunded (data.object the charge with the cumulative
amount_refunded; previous_attributes the old amount_refunded and refunded).
"""
import base64
import copy
import hashlib
import hmac
import http.server
import json
import pathlib
import re
import secrets
import string
import sys
import threading
import time
import urllib.parse

API_VERSION = "2026-10-28.endive"
SECRET_KEY = "sk_test_pictor"
directory = pathlib.Path(sys.argv[1])
directory.mkdir(parents=True, exist_ok=True)
WEBHOOK_SECRET = sys.argv[2] if len(sys.argv) > 2 else "whsec_pictor_test"

lock = threading.RLock()
counter = {"n": 0}
sessions, session_items, payment_intents, charges, refunds, disputes = {}, {}, {}, {}, {}, {}
events = []  # [{"id", "type", "payload"}], oldest first
events_by_id = {}
idempotency = {}  # key -> {"fingerprint", "status", "body", "request_id"}

ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf",
                "xof", "xpf"}
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "jpy": "¥"}
ALPHANUMERIC = string.ascii_letters + string.digits


def new_id(prefix, length=24):
    return prefix + "".join(secrets.choice(ALPHANUMERIC) for _ in range(length))


def now():
    return int(time.time())


def money(amount, currency):
    """Stripe's way of writing an amount in an error message: $20.00, €7.50, 1000 JPY."""
    text = str(amount) if currency in ZERO_DECIMAL else f"{amount // 100}.{amount % 100:02d}"
    symbol = SYMBOLS.get(currency)
    return symbol + text if symbol else f"{text} {currency.upper()}"


class StripeError(Exception):
    """An error answered in Stripe's body shape. `saved` marks errors raised after the request began executing,
    which Stripe stores under the idempotency key like a success."""

    def __init__(self, status, message, code=None, param=None, type="invalid_request_error", saved=False,
                 bare=False):
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.type = status, message, code, param, type
        self.saved, self.bare = saved, bare

    def body(self, request_id):
        error = {}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = "https://docs.stripe.com/error-codes/" + self.code.replace("_", "-")
        error["message"] = self.message
        if self.param:
            error["param"] = self.param
        if not self.bare:
            error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}?t={now()}"
        error["type"] = self.type
        return {"error": error}


def lookup(table, object_id, kind, param):
    found = table.get(object_id)
    if found is None:
        raise StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)
    return found


# ---- request parameters: Stripe's bracket notation ----

def parse_params(text):
    """metadata[k]=v, line_items[0][price_data][unit_amount]=5, expand[]=x -> nested dicts and lists."""
    root = {}
    for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
        segments = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2)) if match else [key]
        node = root
        for index, segment in enumerate(segments):
            if segment == "":
                segment = str(len(node))
            if index == len(segments) - 1:
                node[segment] = value
            else:
                child = node.get(segment)
                if not isinstance(child, dict):
                    child = node[segment] = {}
                node = child
    return listify(root, None)


def listify(node, name):
    """Dicts keyed 0, 1, ... become lists (not metadata, whose keys are the caller's)."""
    if not isinstance(node, dict):
        return node
    node = {key: listify(value, key) for key, value in node.items()}
    if name != "metadata" and node and all(key.isdigit() for key in node):
        return [node[key] for key in sorted(node, key=int)]
    return node


def check_known(params, allowed, prefix=""):
    for key in params:
        if key not in allowed:
            name = f"{prefix}[{key}]" if prefix else key
            raise StripeError(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def require(params, key, param):
    value = params.get(key) if isinstance(params, dict) else None
    if value is None or value == "":
        raise StripeError(400, f"Missing required param: {param}.", code="parameter_missing", param=param)
    return value


def integer(value, param, minimum=None):
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise StripeError(400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=param)
    number = int(value)
    if minimum is not None and number < minimum:
        raise StripeError(400, f"This value must be greater than or equal to {minimum}.",
                          code="parameter_invalid_integer", param=param)
    return number


def metadata(value, param):
    if value is None or value == "":
        return {}
    if not isinstance(value, dict) or any(not isinstance(v, str) for v in value.values()):
        raise StripeError(400, "Invalid object", code="parameter_invalid_string", param=param)
    return {key: v for key, v in value.items() if v != ""}


def currency_of(value, param):
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise StripeError(400, f"Invalid currency: {value}.", code="parameter_invalid_string", param=param)
    return value.lower()


# ---- objects, shaped as API version 2026-10-28.endive ----

SESSION_PARAMS = {
    "adaptive_pricing", "after_expiration", "allow_promotion_codes", "allowed_payment_method_types", "automatic_tax",
    "billing_address_collection", "branding_settings", "cancel_url", "client_reference_id", "consent_collection",
    "currency", "custom_fields", "custom_text", "customer", "customer_account", "customer_creation",
    "customer_email", "customer_update", "discounts", "excluded_payment_method_types", "expand", "expires_at",
    "integration_identifier", "invoice_creation", "line_items", "locale", "managed_payments", "metadata", "mode",
    "name_collection", "optional_items", "origin_context", "payment_intent_data", "payment_method_collection",
    "payment_method_configuration", "payment_method_data", "payment_method_options", "permissions",
    "phone_number_collection", "redirect_on_completion", "return_url", "saved_payment_method_options",
    "setup_intent_data", "shipping_address_collection", "shipping_options", "submit_type", "subscription_data",
    "success_url", "tax_id_collection", "ui_mode", "wallet_options"}
LINE_ITEM_PARAMS = {"adjustable_quantity", "metadata", "price", "price_data", "quantity", "tax_rates"}
PRICE_DATA_PARAMS = {"currency", "product", "product_data", "recurring", "tax_behavior", "unit_amount",
                     "unit_amount_decimal"}
PRODUCT_DATA_PARAMS = {"description", "images", "metadata", "name", "tax_code", "tax_details", "unit_label"}
PAYMENT_INTENT_DATA_PARAMS = {
    "application_fee_amount", "capture_method", "description", "metadata", "on_behalf_of", "receipt_email",
    "setup_future_usage", "shipping", "statement_descriptor", "statement_descriptor_suffix", "transfer_data",
    "transfer_group"}
REFUND_PARAMS = {"amount", "charge", "currency", "customer", "expand", "instructions_email", "metadata", "origin",
                 "payment_intent", "reason", "refund_application_fee", "reverse_transfer"}


def create_session(params, context):
    check_known(params, SESSION_PARAMS)
    mode = require(params, "mode", "mode")
    if mode not in ("payment", "setup", "subscription"):
        raise StripeError(400, "Invalid mode: must be one of payment, setup, or subscription",
                          code="parameter_invalid_string", param="mode")
    if mode != "payment":
        raise StripeError(400, f"This test server supports only mode=payment, not mode={mode}.", param="mode")
    ui_mode = params.get("ui_mode", "hosted_page")
    if ui_mode != "hosted_page":
        raise StripeError(400, f"This test server supports only ui_mode=hosted_page, not {ui_mode}.",
                          param="ui_mode")
    success_url = require(params, "success_url", "success_url")
    raw_items = params.get("line_items")
    if not raw_items:
        raise StripeError(400, "Missing required param: line_items.", code="parameter_missing", param="line_items")
    if not isinstance(raw_items, list):
        raise StripeError(400, "Invalid array", code="parameter_invalid_array", param="line_items")
    items, currency = [], None
    created = now()
    for index, item in enumerate(raw_items):
        where = f"line_items[{index}]"
        if not isinstance(item, dict):
            raise StripeError(400, "Invalid object", param=where)
        check_known(item, LINE_ITEM_PARAMS, where)
        if "price" in item:
            raise StripeError(404, f"No such price: '{item['price']}'", code="resource_missing",
                              param=f"{where}[price]")
        price_data = require(item, "price_data", f"{where}[price_data]")
        if not isinstance(price_data, dict):
            raise StripeError(400, "Invalid object", param=f"{where}[price_data]")
        check_known(price_data, PRICE_DATA_PARAMS, f"{where}[price_data]")
        item_currency = currency_of(require(price_data, "currency", f"{where}[price_data][currency]"),
                                    f"{where}[price_data][currency]")
        unit_amount = integer(require(price_data, "unit_amount", f"{where}[price_data][unit_amount]"),
                              f"{where}[price_data][unit_amount]", minimum=0)
        if "product" in price_data:
            raise StripeError(404, f"No such product: '{price_data['product']}'", code="resource_missing",
                              param=f"{where}[price_data][product]")
        product_data = require(price_data, "product_data", f"{where}[price_data][product_data]")
        if not isinstance(product_data, dict):
            raise StripeError(400, "Invalid object", param=f"{where}[price_data][product_data]")
        check_known(product_data, PRODUCT_DATA_PARAMS, f"{where}[price_data][product_data]")
        name = require(product_data, "name", f"{where}[price_data][product_data][name]")
        quantity = integer(require(item, "quantity", f"{where}[quantity]"), f"{where}[quantity]", minimum=1)
        if currency is not None and item_currency != currency:
            raise StripeError(400, "All line items must use the same currency.", param=f"{where}[price_data][currency]")
        currency = item_currency
        items.append({
            "id": new_id("li_"), "object": "item", "amount_discount": 0, "amount_subtotal": unit_amount * quantity,
            "amount_tax": 0, "amount_total": unit_amount * quantity, "currency": currency, "description": name,
            "metadata": metadata(item.get("metadata"), f"{where}[metadata]"),
            "price": {
                "id": new_id("price_"), "object": "price", "active": False, "billing_scheme": "per_unit",
                "created": created, "currency": currency, "custom_unit_amount": None, "livemode": False,
                "lookup_key": None, "metadata": {}, "nickname": None, "product": new_id("prod_", 14),
                "recurring": None, "tax_behavior": "unspecified", "tiers_mode": None, "transform_quantity": None,
                "type": "one_time", "unit_amount": unit_amount, "unit_amount_decimal": str(unit_amount)},
            "quantity": quantity})
    intent_data = params.get("payment_intent_data") or {}
    if not isinstance(intent_data, dict):
        raise StripeError(400, "Invalid object", param="payment_intent_data")
    check_known(intent_data, PAYMENT_INTENT_DATA_PARAMS, "payment_intent_data")
    session_metadata = metadata(params.get("metadata"), "metadata")
    intent_metadata = metadata(intent_data.get("metadata"), "payment_intent_data[metadata]")
    total = sum(item["amount_total"] for item in items)
    session_id = new_id("cs_test_a1", 56)
    session = {
        "id": session_id, "object": "checkout.session", "adaptive_pricing": {"enabled": False},
        "after_expiration": None, "allow_promotion_codes": None, "amount_subtotal": total, "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None, "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id") or None, "client_secret": None,
        "collected_information": None, "consent": None, "consent_collection": None, "created": created,
        "currency": currency, "currency_conversion": None, "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": params.get("customer") or None, "customer_creation": params.get("customer_creation", "if_required"),
        "customer_details": None, "customer_email": params.get("customer_email") or None, "discounts": [],
        "expires_at": created + 24 * 3600, "invoice": None,
        "invoice_creation": {"enabled": False, "invoice_data": {
            "account_tax_ids": None, "custom_fields": None, "description": None, "footer": None, "issuer": None,
            "metadata": {}, "rendering_options": None}},
        "livemode": False, "locale": params.get("locale"), "metadata": session_metadata, "mode": "payment",
        "origin_context": None, "payment_intent": None, "payment_link": None,
        "payment_method_collection": "if_required", "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"], "payment_status": "unpaid", "permissions": None,
        "phone_number_collection": {"enabled": False}, "recovered_from": None, "saved_payment_method_options": None,
        "setup_intent": None, "shipping_address_collection": None, "shipping_cost": None, "shipping_options": [],
        "status": "open", "submit_type": params.get("submit_type"), "subscription": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}, "ui_mode": "hosted_page",
        "url": f"https://checkout.stripe.com/c/pay/{session_id}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
        "wallet_options": None}
    sessions[session_id] = session
    session_items[session_id] = {"items": items, "intent_metadata": intent_metadata,
                                 "intent_description": intent_data.get("description")}
    return session


def session_line_items(session_id, check=False):
    if check:
        lookup(sessions, session_id, "checkout.session", "session")
    return {"object": "list", "data": copy.deepcopy(session_items[session_id]["items"]), "has_more": False,
            "url": f"/v1/checkout/sessions/{session_id}/line_items"}


def create_payment_intent(session):
    extra = session_items[session["id"]]
    intent_id = new_id("pi_")
    intent = {
        "id": intent_id, "object": "payment_intent", "amount": session["amount_total"], "amount_capturable": 0,
        "amount_details": {"tip": {}}, "amount_received": 0, "application": None, "application_fee_amount": None,
        "automatic_payment_methods": None, "canceled_at": None, "cancellation_reason": None,
        "capture_method": "automatic_async", "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
        "confirmation_method": "automatic", "created": now(), "currency": session["currency"],
        "customer": session["customer"], "description": extra["intent_description"], "last_payment_error": None,
        "latest_charge": None, "livemode": False, "metadata": dict(extra["intent_metadata"]), "next_action": None,
        "on_behalf_of": None, "payment_method": new_id("pm_"), "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"installments": None, "mandate_options": None, "network": None,
                                            "request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"], "processing": None, "receipt_email": None, "review": None,
        "setup_future_usage": None, "shipping": None, "source": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": "requires_payment_method", "transfer_data": None,
        "transfer_group": None}
    payment_intents[intent_id] = intent
    return intent


def create_charge(intent, card):
    charge_id = new_id("ch_")
    level = card["risk_level"]
    charge = {
        "id": charge_id, "object": "charge", "amount": intent["amount"], "amount_captured": intent["amount"],
        "amount_refunded": 0, "application": None, "application_fee": None, "application_fee_amount": None,
        "balance_transaction": new_id("txn_"),
        "billing_details": {"address": {"city": None, "country": "US", "line1": None, "line2": None,
                                        "postal_code": "94103", "state": None},
                            "email": card["email"], "name": card["name"], "phone": None, "tax_id": None},
        "calculated_statement_descriptor": "PICTOR", "captured": True, "created": now(),
        "currency": intent["currency"], "customer": intent["customer"], "description": intent["description"],
        "disputed": False, "failure_balance_transaction": None, "failure_code": None, "failure_message": None,
        "fraud_details": {}, "livemode": False, "metadata": dict(intent["metadata"]), "on_behalf_of": None,
        "outcome": {"advice_code": None, "network_advice_code": None, "network_decline_code": None,
                    "network_status": card["network_status"], "reason": None, "risk_level": level,
                    "risk_score": card["risk_score"], "seller_message": "Payment complete.", "type": "authorized"},
        "paid": True, "payment_intent": intent["id"], "payment_method": intent["payment_method"],
        "payment_method_details": {"card": {
            "amount_authorized": intent["amount"], "authorization_code": None, "brand": card["brand"],
            "checks": {"address_line1_check": None, "address_postal_code_check": "pass", "cvc_check": "pass"},
            "country": "US", "exp_month": 12, "exp_year": time.gmtime().tm_year + 3,
            "extended_authorization": {"status": "disabled"}, "fingerprint": card["fingerprint"],
            "funding": "credit", "incremental_authorization": {"status": "unavailable"}, "installments": None,
            "last4": card["last4"], "mandate": None, "multicapture": {"status": "unavailable"},
            "network": card["brand"], "network_token": {"used": False},
            "network_transaction_id": "".join(secrets.choice(string.digits) for _ in range(15)),
            "overcapture": {"maximum_amount_capturable": intent["amount"], "status": "unavailable"},
            "regulated_status": "unregulated", "three_d_secure": None, "wallet": None}, "type": "card"},
        "radar_options": {}, "receipt_email": None, "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{new_id('', 60)}", "refunded": False,
        "review": None, "shipping": None, "source": None, "source_transfer": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": "succeeded", "transfer_data": None, "transfer_group": None}
    charges[charge_id] = charge
    intent.update(latest_charge=charge_id, status="succeeded", amount_received=intent["amount"], processing=None)
    return charge


def create_refund(params, context):
    check_known(params, REFUND_PARAMS)
    intent_id, charge_id = params.get("payment_intent"), params.get("charge")
    if not intent_id and not charge_id:
        raise StripeError(400, "One of the following params should be provided for this request: payment_intent "
                               "or charge.", code="parameter_missing", param="payment_intent")
    if charge_id:
        charge = lookup(charges, charge_id, "charge", "charge")
        if intent_id and charge["payment_intent"] != intent_id:
            raise StripeError(400, f"The charge {charge_id} does not belong to the PaymentIntent {intent_id}.",
                              param="charge")
    else:
        intent = lookup(payment_intents, intent_id, "payment_intent", "payment_intent")
        if intent["latest_charge"] is None:
            raise StripeError(400, f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                              param="payment_intent")
        charge = charges[intent["latest_charge"]]
    reason = params.get("reason")
    if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
        raise StripeError(400, "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
                          code="parameter_invalid_string", param="reason")
    refund_metadata = metadata(params.get("metadata"), "metadata")
    left = charge["amount"] - charge["amount_refunded"]
    amount = integer(params["amount"], "amount", minimum=1) if "amount" in params else left
    if charge["disputed"]:
        raise StripeError(400, f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                          code="charge_disputed", saved=True)
    if left <= 0:
        raise StripeError(400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded",
                          saved=True)
    if amount > left:
        raise StripeError(400, f"Refund amount ({money(amount, charge['currency'])}) is greater than unrefunded "
                               f"amount on charge ({money(left, charge['currency'])})",
                          code="amount_too_large", param="amount", saved=True)
    refund = {
        "id": new_id("re_"), "object": "refund", "amount": amount, "balance_transaction": new_id("txn_"),
        "charge": charge["id"], "created": now(), "currency": charge["currency"],
        "destination_details": {"card": {"reference": None, "reference_status": "pending",
                                         "reference_type": "acquirer_reference_number", "type": "refund"},
                                "type": "card"},
        "metadata": refund_metadata, "payment_intent": charge["payment_intent"], "reason": reason,
        "receipt_number": None, "source_transfer_reversal": None, "status": "succeeded", "transfer_reversal": None}
    refunds[refund["id"]] = refund
    previous = {"amount_refunded": charge["amount_refunded"]}
    charge["amount_refunded"] += amount
    if charge["amount_refunded"] == charge["amount"]:
        previous["refunded"] = False
        charge["refunded"] = True
    emit("refund.created", refund, context)
    emit("charge.refunded", charge, context, previous)
    return refund


def charge_refunds(charge_id):
    data = [copy.deepcopy(r) for r in sorted(refunds.values(), key=lambda r: r["created"], reverse=True)
            if r["charge"] == charge_id]
    return {"object": "list", "data": data, "has_more": False, "url": f"/v1/charges/{charge_id}/refunds"}


def create_dispute(charge, body):
    amount = body.get("amount", charge["amount"])
    card = charge["payment_method_details"]["card"]
    dispute = {
        "id": new_id("du_"), "object": "dispute", "amount": amount, "balance_transactions": [],
        "charge": charge["id"], "created": now(), "currency": charge["currency"], "enhanced_eligibility_types": [],
        "evidence": {name: None for name in (
            "access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
            "cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
            "customer_purchase_ip", "customer_signature", "duplicate_charge_documentation",
            "duplicate_charge_explanation", "duplicate_charge_id", "product_description", "receipt",
            "refund_policy", "refund_policy_disclosure", "refund_refusal_explanation", "service_date",
            "service_documentation", "shipping_address", "shipping_carrier", "shipping_date",
            "shipping_documentation", "shipping_tracking_number", "uncategorized_file", "uncategorized_text")},
        "evidence_details": {"due_by": now() + 14 * 24 * 3600, "enhanced_eligibility": {}, "has_evidence": False,
                             "past_due": False, "submission_count": 0, "submission_method": "not_submitted"},
        "is_charge_refundable": False, "livemode": False, "metadata": {}, "network_reason_code": "10.4",
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {"card": {"brand": card["brand"], "case_type": "chargeback", "network": card["brand"],
                                            "network_reason_code": "10.4"}, "type": "card"},
        "reason": body.get("reason", "fraudulent"), "status": "needs_response"}
    dispute["evidence"]["enhanced_evidence"] = {}
    disputes[dispute["id"]] = dispute
    charge["disputed"] = True
    emit("charge.dispute.created", dispute)
    emit("charge.dispute.funds_withdrawn", dispute)
    return dispute


# ---- events and their signatures ----

def emit(event_type, obj, context=None, previous=None):
    data = {"object": copy.deepcopy(obj)}
    if previous is not None:
        data["previous_attributes"] = previous
    request = ({"id": context["request_id"], "idempotency_key": context["idempotency_key"]} if context
               else {"id": None, "idempotency_key": None})
    event = {"id": new_id("evt_"), "object": "event", "api_version": API_VERSION, "created": now(), "data": data,
             "livemode": False, "pending_webhooks": 1, "request": request, "type": event_type}
    record = {"id": event["id"], "type": event_type, "payload": json.dumps(event, indent=2, ensure_ascii=False)}
    events.append(record)
    events_by_id[event["id"]] = record


def signature(payload, timestamp=None):
    timestamp = now() if timestamp is None else timestamp
    digest = hmac.new(WEBHOOK_SECRET.encode("utf-8"), f"{timestamp}.{payload}".encode("utf-8"), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


# ---- expansion ----

def expanders():
    """object type -> {field: function(id) -> the object (or list) it expands to}."""
    return {
        "checkout.session": {"payment_intent": lambda v: payment_intents.get(v),
                             "line_items": None},
        "payment_intent": {"latest_charge": lambda v: charges.get(v)},
        "charge": {"payment_intent": lambda v: payment_intents.get(v), "refunds": None},
        "refund": {"charge": lambda v: charges.get(v), "payment_intent": lambda v: payment_intents.get(v)},
        "dispute": {"charge": lambda v: charges.get(v), "payment_intent": lambda v: payment_intents.get(v)},
    }


def expand(obj, path, whole):
    head, _, rest = path.partition(".")
    table = expanders().get(obj.get("object"), {})
    if head not in table:
        raise StripeError(400, f"This property cannot be expanded ({whole}).", param="expand")
    if head == "line_items":
        obj["line_items"] = session_line_items(obj["id"])
    elif head == "refunds":
        obj["refunds"] = charge_refunds(obj["id"])
    elif isinstance(obj.get(head), str):
        found = table[head](obj[head])
        obj[head] = copy.deepcopy(found) if found is not None else obj[head]
    target = obj.get(head)
    if rest and isinstance(target, dict):
        expand(target, rest, whole)


def render(obj, params):
    result = copy.deepcopy(obj)
    wanted = params.get("expand") or []
    if isinstance(wanted, str):
        wanted = [wanted]
    for path in wanted:
        expand(result, path, path)
    return result


# ---- the HTTP side ----

ROUTES = [
    ("POST", r"/v1/checkout/sessions", lambda p, c: render(create_session(p, c), p)),
    ("GET", r"/v1/checkout/sessions/([^/]+)",
     lambda p, c, i: render(lookup(sessions, i, "checkout.session", "session"), p)),
    ("GET", r"/v1/checkout/sessions/([^/]+)/line_items",
     lambda p, c, i: session_line_items(i, check=True)),
    ("GET", r"/v1/payment_intents/([^/]+)",
     lambda p, c, i: render(lookup(payment_intents, i, "payment_intent", "intent"), p)),
    ("GET", r"/v1/charges/([^/]+)", lambda p, c, i: render(lookup(charges, i, "charge", "charge"), p)),
    ("POST", r"/v1/refunds", lambda p, c: render(create_refund(p, c), p)),
    ("GET", r"/v1/refunds/([^/]+)", lambda p, c, i: render(lookup(refunds, i, "refund", "refund"), p)),
    ("GET", r"/v1/disputes/([^/]+)", lambda p, c, i: render(lookup(disputes, i, "dispute", "dispute"), p)),
    ("GET", r"/v1/events/([^/]+)", lambda p, c, i: json.loads(lookup(events_by_id, i, "event", "id")["payload"])),
]


def masked(key):
    prefix = re.match(r"(?:sk|rk|pk)_(?:test|live)_", key)
    head = prefix.group(0) if prefix else ""
    rest = key[len(head):]
    return head + ("*" * (len(rest) - 4) + rest[-4:] if len(rest) > 4 else "*" * len(rest))


def authenticate(header):
    scheme, _, credential = (header or "").strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() == "basic":
        try:
            credential = base64.b64decode(credential, validate=True).decode("utf-8").partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            credential = ""
    elif scheme.lower() != "bearer":
        credential = ""
    if not credential:
        raise StripeError(401, "You did not provide an API key. You need to provide your API key in the "
                               "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                               "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or "
                               "we can help at https://support.stripe.com/.", bare=True)
    if credential != SECRET_KEY:
        raise StripeError(401, f"Invalid API Key provided: {masked(credential)}", bare=True)


def unrecognized(method, path):
    hint = ("If you are trying to list objects, remove the trailing slash. If you are trying to retrieve an object, "
            "make sure you passed a valid (non-empty) identifier in your code. " if path.endswith("/") else "")
    return StripeError(404, f"Unrecognized request URL ({method}: {path}). {hint}Please see https://stripe.com/docs "
                            "or we can help at https://support.stripe.com/.", bare=True)


def api(method, path, query, body, headers, request_id):
    """-> (status, JSON-able body, extra headers)."""
    extra = {}
    try:
        authenticate(headers.get("Authorization"))
        asked = headers.get("Stripe-Version")
        if asked and asked != API_VERSION:
            raise StripeError(400, f"Invalid Stripe API version: {asked}. This test server answers only as "
                                   f"{API_VERSION}.", param="stripe_version", bare=True)
        for route_method, pattern, handler in ROUTES:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                break
        else:
            raise unrecognized(method, path)
        params = parse_params(body if method == "POST" else query)
        key = headers.get("Idempotency-Key") if method == "POST" else None
        fingerprint = [method, path, sorted(urllib.parse.parse_qsl(body, keep_blank_values=True))]
        if key:
            extra["Idempotency-Key"] = key
            saved = idempotency.get(key)
            if saved is not None:
                if saved["fingerprint"] != fingerprint:
                    raise StripeError(400, "Keys for idempotent requests can only be used with the same parameters "
                                           f"they were first used with. Try using a key other than '{key}' if you "
                                           "meant to execute a different request.", type="idempotency_error")
                extra.update({"Idempotent-Replayed": "true", "Original-Request": saved["request_id"]})
                return saved["status"], saved["body"], extra
            extra["Original-Request"] = request_id
        context = {"request_id": request_id, "idempotency_key": key}
        try:
            status, answer = 200, handler(params, context, *match.groups())
        except StripeError as error:
            if not (key and error.saved):
                raise
            status, answer = error.status, error.body(request_id)
        if key:
            idempotency[key] = {"fingerprint": fingerprint, "status": status, "body": answer,
                                "request_id": request_id}
        return status, answer, extra
    except StripeError as error:
        return error.status, error.body(request_id), extra


def card_from(body):
    level = body.get("risk_level", "normal")
    return {"fingerprint": body.get("fingerprint") or new_id("", 16), "risk_level": level,
            "risk_score": body.get("risk_score", {"normal": 24, "elevated": 72, "highest": 91}.get(level, 50)),
            "network_status": body.get("network_status", "approved_by_network"), "brand": body.get("brand", "visa"),
            "last4": body.get("last4", "4242"), "email": body.get("email"), "name": body.get("name", "Jenny Rosen")}


def control(method, path, body, request_id):
    """The /_test routes -> (status, JSON-able body)."""
    try:
        payload = json.loads(body) if body.strip() else {}
    except ValueError:
        return 400, StripeError(400, "Body must be JSON.", bare=True).body(request_id)
    try:
        if method == "GET" and path == "/_test/events":
            return 200, [dict(event, signature=signature(event["payload"])) for event in events]
        match = re.fullmatch(r"/_test/checkout/sessions/([^/]+)/(complete|async|expire)", path)
        if method == "POST" and match:
            session = lookup(sessions, match.group(1), "checkout.session", "session")
            return 200, (complete, settle, expire)[("complete", "async", "expire").index(match.group(2))](
                session, payload)
        match = re.fullmatch(r"/_test/charges/([^/]+)/dispute", path)
        if method == "POST" and match:
            charge = lookup(charges, match.group(1), "charge", "charge")
            if charge["disputed"]:
                raise StripeError(400, f"Charge {charge['id']} is already disputed.")
            return 200, create_dispute(charge, payload)
        match = re.fullmatch(r"/_test/disputes/([^/]+)/close", path)
        if method == "POST" and match:
            dispute = lookup(disputes, match.group(1), "dispute", "dispute")
            status = payload.get("status")
            if status not in ("won", "lost"):
                raise StripeError(400, "status must be won or lost.", param="status")
            if dispute["status"] in ("won", "lost"):
                raise StripeError(400, "This dispute is already closed")
            previous = {"status": dispute["status"]}
            dispute["status"] = status
            emit("charge.dispute.closed", dispute, previous=previous)
            if status == "won":
                emit("charge.dispute.funds_reinstated", dispute)
            return 200, dispute
        raise unrecognized(method, path)
    except StripeError as error:
        return error.status, error.body(request_id)


def complete(session, body):
    if session["status"] != "open":
        raise StripeError(400, f"Checkout Session {session['id']} is {session['status']}, not open.")
    outcome = body.get("outcome", "paid")
    if outcome not in ("paid", "processing"):
        raise StripeError(400, "outcome must be paid or processing.", param="outcome")
    card = card_from(body)
    card["email"] = card["email"] or session["customer_email"] or "customer@example.com"
    session_items[session["id"]]["card"] = card
    intent = create_payment_intent(session)
    emit("payment_intent.created", intent)
    charge = None
    if outcome == "paid":
        charge = create_charge(intent, card)
        emit("charge.succeeded", charge)
        emit("payment_intent.succeeded", intent)
    else:
        intent["status"] = "processing"
        intent["processing"] = None
        emit("payment_intent.processing", intent)
    session.update(status="complete", payment_status="paid" if charge else "unpaid", payment_intent=intent["id"],
                   url=None, customer_details={
                       "address": {"city": None, "country": "US", "line1": None, "line2": None,
                                   "postal_code": "94103", "state": None},
                       "business_name": None, "email": card["email"], "individual_name": None, "name": card["name"],
                       "phone": None, "tax_exempt": "none", "tax_ids": []})
    emit("checkout.session.completed", session)
    return {"session": session, "payment_intent": intent, "charge": charge}


def settle(session, body):
    intent = payment_intents.get(session["payment_intent"] or "")
    if intent is None or intent["status"] != "processing":
        raise StripeError(400, f"Checkout Session {session['id']} has no payment still processing.")
    charge = None
    if body.get("succeeded", True):
        charge = create_charge(intent, session_items[session["id"]]["card"])
        emit("charge.succeeded", charge)
        emit("payment_intent.succeeded", intent)
        session["payment_status"] = "paid"
        emit("checkout.session.async_payment_succeeded", session)
    else:
        intent.update(status="requires_payment_method", payment_method=None, last_payment_error={
            "code": "payment_method_provider_decline", "decline_code": "generic_decline", "doc_url":
            "https://docs.stripe.com/error-codes/payment-method-provider-decline",
            "message": "The payment was declined.", "type": "card_error"})
        emit("payment_intent.payment_failed", intent)
        emit("checkout.session.async_payment_failed", session)
    return {"session": session, "payment_intent": intent, "charge": charge}


def expire(session, body):
    if session["status"] != "open":
        raise StripeError(400, f"Checkout Session {session['id']} is {session['status']}, not open.")
    session.update(status="expired", url=None)
    emit("checkout.session.expired", session)
    return {"session": session}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def version_string(self):
        return "nginx"

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    def do_DELETE(self):
        self.serve("DELETE")

    def do_PUT(self):
        self.serve("PUT")

    def do_PATCH(self):
        self.serve("PATCH")

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def serve(self, method):
        body = self.read_body().decode("utf-8", "replace")
        url = urllib.parse.urlsplit(self.path)
        request_id = new_id("req_", 14)
        with lock:
            if url.path.startswith("/_test/"):
                status, answer = control(method, url.path, body, request_id)
                extra = {}
            else:
                if url.path.startswith("/v1"):
                    counter["n"] += 1
                    (directory / f"{counter['n']}.json").write_text(json.dumps({
                        "method": method, "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}))
                status, answer, extra = api(method, url.path, url.query, body, self.headers, request_id)
            data = (json.dumps(answer, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, no-store")
        self.send_header("Request-Id", request_id)
        self.send_header("Stripe-Version", API_VERSION)
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(f"PORT {server.server_address[1]}", flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
