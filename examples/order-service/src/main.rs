//! `order-service`: mqsim's command line over the order service's own
//! consumer — `order-service run scenarios/orders-broker-crash.toml --seed
//! 3`, `explore`, `shrink`, `compare`, … with the `orders` handler
//! registered.

fn main() -> std::process::ExitCode {
    mqsim::cli::main(|| Box::new(mqsim::Pipeline::with(order_service::registry())))
}
