-- SPF/DKIM/DMARC verdicts of messages received over SMTP (JSON).
ALTER TABLE messages ADD COLUMN auth_results TEXT;
