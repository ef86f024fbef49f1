//! Placeholder until the policy module lands (replaced by the policy branch).
#[derive(Debug, Clone)]
pub struct Policy;
