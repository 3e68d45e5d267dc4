//! Partner buckets: how staff get an object out of a partner's bucket.

use crate::accounts::string_enum;

string_enum!(
    /// How a download from a partner's bucket reaches the agent.
    DownloadMode {
        /// Through partnerdesk, streamed (the bucket is never exposed to the browser).
        Stream = "stream",
        /// A short-lived presigned URL to the bucket itself.
        Presign = "presign",
    }
);
