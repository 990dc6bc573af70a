//! `wooo_cost::azure::CostManagement` against a wiremock server answering the Query API with Azure's official
//! example body (`ResourceGroupQuery.json`, its `nextLink` pointed at a second page), every request body
//! validated against the official Cost Management definition (2023-07-01-preview).

use std::sync::{Arc, Mutex};

use jiff::civil::date;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use wooo_cost::azure::{CostGroupBy, CostManagement};
use wooo_tests::azure_arm::cost_openapi;

const QUERY: &str = "/{scope}/providers/Microsoft.CostManagement/query";

struct Token;

#[async_trait::async_trait]
impl azure_core::auth::TokenCredential for Token {
    async fn get_token(&self, _resource: &str) -> azure_core::Result<azure_core::auth::TokenResponse> {
        Ok(azure_core::auth::TokenResponse::new(
            azure_core::auth::AccessToken::new("fake"),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

struct Pages {
    base: String,
    bodies: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Respond for Pages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = request.body_json().unwrap_or(Value::Null);
        let mut seen = self.bodies.lock().expect("bodies");
        seen.push((request.url.to_string(), body));
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data/azure/costmanagement/2023-07-01-preview/examples/ResourceGroupQuery.json"),
        )
        .expect("example");
        let example: Value = serde_json::from_str(&text).expect("json");
        let mut page = example["responses"]["200"]["body"].clone();
        if seen.len() == 1 {
            page["properties"]["nextLink"] = json!(format!(
                "{}/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CostManagement/query?api-version=2023-07-01-preview&$skiptoken=AQAAAA%3D%3D",
                self.base
            ));
        }
        ResponseTemplate::new(200).set_body_json(page)
    }
}

#[tokio::test]
async fn every_page_through_next_link_with_bodies_valid_against_the_definition() {
    let server = MockServer::start().await;
    let bodies = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path_regex("/providers/Microsoft.CostManagement/query$"))
        .respond_with(Pages { base: server.uri(), bodies: bodies.clone() })
        .mount(&server)
        .await;
    let cm = CostManagement::new(server.uri(), Arc::new(Token));
    let rows = cm
        .actual_cost(
            "subscriptions/s1/resourceGroups/rg",
            date(2018, 4, 1),
            date(2018, 4, 30),
            &CostGroupBy::ResourceGroup,
        )
        .await
        .expect("cost");
    // Two pages of the official example: two rows each.
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].date, date(2018, 4, 17));
    assert_eq!(rows[0].group, "ScreenSharingTest-peer");
    assert_eq!(rows[0].cost.currency().code(), "USD");
    assert_eq!(rows[1].cost.decimal_string(), "20.103333071");
    let bodies = bodies.lock().expect("bodies");
    assert_eq!(bodies.len(), 2);
    assert!(bodies[1].0.contains("skiptoken"), "the second request follows nextLink: {}", bodies[1].0);
    let api = cost_openapi();
    for (url, body) in bodies.iter() {
        assert_eq!(api.validate_request(QUERY, "post", body), Vec::<String>::new(), "{url}");
    }
    // The validator is not lenient: a field wooo might invent fails.
    let mut invented = bodies[0].1.clone();
    invented["dataset"]["granularity"] = json!("Hourly");
    invented["dataset"]["currency"] = json!("EUR");
    let errors = api.validate_request(QUERY, "post", &invented);
    assert!(errors.iter().any(|e| e.contains("currency") && e.contains("unknown property")), "{errors:?}");
}
