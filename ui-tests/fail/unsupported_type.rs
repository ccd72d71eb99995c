wskit::protocol! {
    protocol Shop {
        message Order {
            sku: &'static str,
            pair: (String, u8),
            count: usize,
            by_id: std::collections::HashMap<u32, String>,
            lines: [String; 4],
            ids: std::collections::HashSet<String>,
            boxed: Box<String>,
        }
    }
}

fn main() {}
