package store

// KindCertificateKeyNext holds a new certificate with its private key while
// `mailgrant rotate` waits for the admin to upload it: the profile still
// uses certificate-key until the new one is proven, and a rotation that was
// interrupted resumes with the same key instead of orphaning the uploaded
// certificate.
const KindCertificateKeyNext Kind = "certificate-key-next"
