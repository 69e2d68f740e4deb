-- 003_sip_ha1_sealed.sql - the SIP/TURN digest key leaves the database in
-- the clear.
--
-- HA1 = MD5(username:realm:password) is as good as the password for SIP
-- digest and TURN, so a copy of the data volume without the secret key
-- must not hold it. It now lives only as a secret box (AES-256-GCM under
-- the server key, bound to the username and realm: crypto/secretbox.h,
-- core/sipcred.c) beside the realm it was made for, so start-up rehashes
-- only after a realm change instead of decrypting every password.
--
-- DROP COLUMN rewrites every row, and secure_delete (store/db.c) zeroes the
-- old cells, so the clear HA1s leave the file; the server's first start on
-- this version seals a new HA1 for every row from its password (the rows
-- have no ha1_enc until then, and cannot authenticate).

ALTER TABLE sip_credentials DROP COLUMN ha1;
ALTER TABLE sip_credentials ADD COLUMN ha1_enc BLOB
    CHECK (ha1_enc IS NULL OR length(ha1_enc) = 45);
ALTER TABLE sip_credentials ADD COLUMN realm TEXT
    CHECK (realm IS NULL OR length(realm) BETWEEN 1 AND 255);
