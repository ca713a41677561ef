"""Writes at a provider, run by one driver in fixed phases.

How to declare an operation (examples: ``CreatePayment`` in hub/payments/create.py, ``CapturePayment`` and
``CancelPayment`` in hub/payments/service.py, ``CreateRefund`` in hub/payments/refunds.py; the
recurring objects' shared ``Creation`` and ``Action`` in hub/recurring/objects.py):

1. Subclass ``hub.operations.phases.Operation[Answer]`` (``Answer``: what the provider call
   returns). Set ``route`` (the Idempotency-Key scope), ``status_code``, and ``joined = True``
   for a create whose key claim should share the row's insert. Its constructor takes the
   services and the tenant principal (passed on to ``Operation.__init__``) and what the request
   brought (the body, the path's ids). A write at the platform's own account for a tenant
   (platform billing) subclasses ``PlatformOperation`` instead: the platform principal and the
   tenant's id.
2. Write the phases it needs: ``validate`` (pure), ``load`` (reads), ``look`` (a provider read,
   with ``looks = True``), ``resume`` (what an earlier attempt under the key made), ``prepare``
   (the row first, the in-flight marker), ``call`` (the provider, with a provider idempotency key
   derived from the row id), ``record`` (the answer through hub/payments/apply.py, returning the
   response) and ``failed`` (the rows after a provider error, as the policy table says).
   Phases never commit, roll back or open sessions.
3. Register it with ``@driver.declare("POST", "/v1/...")`` (the path as the handler writes it).
4. In the handler: ``return await driver.run(Op(services, who, ...), request=request,
   session=session, body=...)``; ``body`` is what the key's fingerprint covers. Then move its
   route from ``PENDING`` to ``DRIVEN`` in tests/unit/test_operation_driver.py.

What happens after a declined, refused or outcome-unknown answer is hub/operations/policy.py.
"""
