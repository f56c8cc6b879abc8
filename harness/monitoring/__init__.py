"""Post-market monitoring (EU AI Act Art. 72): production logs judged against a monitoring policy.

``logs`` reads JSONL production logs into columns; ``windows`` cuts them into windows of
N requests or of a time span; ``metrics`` measures each window (realised accuracy
against the baseline run, confidence, latency, errors, complaints, satisfaction);
``drift`` tests confidence, input length and output categories against a reference
window with thresholds from a simulated null; ``alerts`` applies the policy's alert and
rollback rules; ``ab`` compares two versions under a traffic split; ``canary`` places
the logs in the policy's rollout plan; ``analysis`` runs all of it into a versioned
``MonitoringReport``; ``plan`` turns the policy into the Art. 72 monitoring plan;
``render`` writes monitoring.json, .html and .pdf; ``sample`` generates realistic
emergency-response logs with injected drift and incidents.

Nothing here loads a model or re-evaluates anything: monitoring reads logs, a stored
baseline run and a policy.
"""
