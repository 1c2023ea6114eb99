-- SPF/DKIM/DMARC verdicts of messages received over SMTP.
ALTER TABLE messages ADD COLUMN auth_results JSONB;
