-- Each user's default SCIM representation, rendered when the user is written (see
-- app/scim/stored_documents.py). NULL for rows written before: those are rendered on read.
ALTER TABLE users ADD COLUMN rendered TEXT;
