//! Which server the client commands talk to.

#[derive(clap::Args, Debug, Clone)]
pub struct ServerArg {
    /// Dossier server URL
    #[arg(long, env = "DOSSIER_SERVER", default_value = "http://127.0.0.1:7340", global = true)]
    pub server: String,
}

impl ServerArg {
    pub fn client(&self) -> dossier_client::Client {
        dossier_client::Client::new(&self.server)
    }
}
