//! ZITADEL's v2 user service and v1 management service over gRPC: a real gRPC client (tonic, with a codec that passes
//! the message bytes through) for the methods, and a raw HTTP/2 client (hyper) for what no
//! gRPC client sends (malformed frames, gRPC-Web).
//!
//! Messages are built and read with `prost-reflect` from the same generated descriptor set
//! the simulator uses, written as proto3 JSON here for readability.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Buf as _, BufMut as _, Bytes};
use http_body_util::{BodyExt as _, Full};
use pats_sim::fault::{Fault, FaultRule};
use pats_sim::zitadel::ZitadelSim;
use prost_reflect::prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::{Value, json};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

const SERVICE: &str = "zitadel.user.v2.UserService";
const MANAGEMENT: &str = "zitadel.management.v1.ManagementService";

fn pool() -> DescriptorPool {
    let mut pool = DescriptorPool::global();
    pool.decode_file_descriptor_set(&include_bytes!("../../src/generated/zitadel_grpc.binpb")[..])
        .unwrap();
    pool
}

/// `json` as the binary request message of `method` (of the user service, or
/// `ManagementService/<Method>`).
fn request_message(method: &str, json: Value) -> Vec<u8> {
    let pool = pool();
    let (service, method) = split(method);
    let method = pool
        .get_service_by_name(service)
        .unwrap()
        .methods()
        .find(|m| m.name() == method)
        .unwrap();
    DynamicMessage::deserialize(method.input(), json)
        .unwrap()
        .encode_to_vec()
}

/// The service and method name of `method`.
fn split(method: &str) -> (&'static str, &str) {
    match method.strip_prefix("ManagementService/") {
        Some(name) => (MANAGEMENT, name),
        None => (SERVICE, method),
    }
}

/// The binary response message of `method` as proto3 JSON.
fn response_json(method: &str, bytes: &[u8]) -> Value {
    let pool = pool();
    let (service, method) = split(method);
    let method = pool
        .get_service_by_name(service)
        .unwrap()
        .methods()
        .find(|m| m.name() == method)
        .unwrap();
    let message = DynamicMessage::decode(method.output(), bytes).unwrap();
    message
        .serialize_with_options(
            serde_json::value::Serializer,
            &SerializeOptions::new().skip_default_fields(true),
        )
        .unwrap()
}

/// A codec that sends and returns the message bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

/// A gRPC client of the simulator.
struct Client {
    grpc: tonic::client::Grpc<tonic::transport::Channel>,
}

impl Client {
    async fn connect(sim: &ZitadelSim) -> Self {
        let channel = tonic::transport::Channel::from_shared(sim.uri())
            .unwrap()
            .connect()
            .await
            .unwrap();
        Client {
            grpc: tonic::client::Grpc::new(channel),
        }
    }

    /// Calls `method` with `body` (proto3 JSON of its request) and the metadata; the answer
    /// as proto3 JSON, or the status.
    async fn call(
        &mut self,
        method: &str,
        body: Value,
        metadata: &[(&'static str, &str)],
    ) -> Result<Value, tonic::Status> {
        let bytes = request_message(method, body);
        let (service, name) = split(method);
        self.call_raw(&format!("/{service}/{name}"), bytes, metadata)
            .await
            .map(|answer| response_json(method, &answer))
    }

    async fn call_raw(
        &mut self,
        path: &str,
        message: Vec<u8>,
        metadata: &[(&'static str, &str)],
    ) -> Result<Vec<u8>, tonic::Status> {
        let mut request = tonic::Request::new(message);
        for (name, value) in metadata {
            request.metadata_mut().insert(*name, value.parse().unwrap());
        }
        self.grpc.ready().await.unwrap();
        let path = http::uri::PathAndQuery::try_from(path).unwrap();
        self.grpc
            .unary(request, path, Raw)
            .await
            .map(tonic::Response::into_inner)
    }
}

fn in_30_days() -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list["result"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

const ORG: &str = ZitadelSim::DEFAULT_ORG;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_lives_its_whole_life_over_grpc() {
    let sim = ZitadelSim::start().await;
    sim.add_named_machine_user(ORG, "300", "ci-bot");
    let mut client = Client::connect(&sim).await;
    let bearer = format!("Bearer {}", sim.admin_pat());
    let auth = [("authorization", bearer.as_str())];

    // The user is found by its username, as pats resolves names.
    let users = client
        .call(
            "ListUsers",
            json!({"queries": [{"userNameQuery": {"userName": "ci-bot"}}]}),
            &auth,
        )
        .await
        .unwrap();
    assert_eq!(users["result"][0]["userId"], "300", "{users}");
    assert_eq!(users["details"]["totalResult"], "1", "{users}");

    let expiration = in_30_days();
    let added = client
        .call(
            "AddPersonalAccessToken",
            json!({"userId": "300", "expirationDate": expiration}),
            &auth,
        )
        .await
        .unwrap();
    let token_id = added["tokenId"].as_str().unwrap().to_owned();
    let secret = added["token"].as_str().unwrap().to_owned();
    assert!(added["creationDate"].is_string(), "{added}");
    // The same state as the Connect path and the Rust API see.
    assert!(sim.pats_of("300").iter().any(|p| p.id == token_id));

    let by_user = json!({"filters": [{"userIdFilter": {"id": "300"}}]});
    let listed = client
        .call("ListPersonalAccessTokens", by_user.clone(), &auth)
        .await
        .unwrap();
    assert_eq!(ids(&listed), [token_id.as_str()], "{listed}");
    assert_eq!(listed["result"][0]["userId"], "300");
    assert_eq!(listed["result"][0]["organizationId"], ORG);
    assert!(
        listed["result"][0]["expirationDate"]
            .as_str()
            .unwrap()
            .starts_with(&expiration[..19]),
        "{listed}"
    );

    // The new token authenticates gRPC calls too.
    let own = format!("Bearer {secret}");
    let mine = client
        .call(
            "ListPersonalAccessTokens",
            by_user.clone(),
            &[("authorization", own.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(ids(&mine), [token_id.as_str()]);

    let removed = client
        .call(
            "RemovePersonalAccessToken",
            json!({"userId": "300", "tokenId": token_id}),
            &auth,
        )
        .await
        .unwrap();
    assert!(removed["deletionDate"].is_string(), "{removed}");
    let listed = client
        .call("ListPersonalAccessTokens", by_user, &auth)
        .await
        .unwrap();
    assert!(ids(&listed).is_empty(), "{listed}");
    assert!(sim.pats_of("300").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_v1_management_methods_work_over_grpc_too() {
    let sim = ZitadelSim::start().await;
    sim.add_machine_user("600", "601");
    let mut client = Client::connect(&sim).await;
    let bearer = format!("Bearer {}", sim.admin_pat());
    let auth = [
        ("authorization", bearer.as_str()),
        ("x-zitadel-orgid", "600"),
    ];
    let expiration = in_30_days();
    let added = client
        .call(
            "ManagementService/AddPersonalAccessToken",
            json!({"userId": "601", "expirationDate": expiration}),
            &auth,
        )
        .await
        .unwrap();
    let token_id = added["tokenId"].as_str().unwrap().to_owned();
    assert!(added["token"].as_str().unwrap().len() > 10, "{added}");
    assert_eq!(added["details"]["resourceOwner"], "600", "{added}");

    let ids_of = json!({"userId": "601", "tokenId": token_id});
    let got = client
        .call(
            "ManagementService/GetPersonalAccessTokenByIDs",
            ids_of.clone(),
            &auth,
        )
        .await
        .unwrap();
    assert_eq!(got["token"]["id"], token_id.as_str(), "{got}");
    let listed = client
        .call(
            "ManagementService/ListPersonalAccessTokens",
            json!({"userId": "601", "query": {"limit": 10}}),
            &auth,
        )
        .await
        .unwrap();
    assert_eq!(ids(&listed), [token_id.as_str()], "{listed}");
    assert_eq!(listed["details"]["totalResult"], "1", "{listed}");

    client
        .call(
            "ManagementService/RemovePersonalAccessToken",
            ids_of.clone(),
            &auth,
        )
        .await
        .unwrap();
    let gone = client
        .call(
            "ManagementService/GetPersonalAccessTokenByIDs",
            ids_of,
            &auth,
        )
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound, "{gone:?}");

    // A path-bound field left empty is refused before any route is taken.
    let empty = client
        .call(
            "ManagementService/ListPersonalAccessTokens",
            json!({}),
            &auth,
        )
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument, "{empty:?}");
    assert!(sim.pats_of("601").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_messages_transcode_like_protobuf_does() {
    let sim = ZitadelSim::start().await;
    sim.add_named_machine_user(ORG, "700", "deployer");
    sim.add_human_user(ORG, "701");
    // Whichever way the Connect path writes 64-bit numbers, the message is the same.
    sim.set_int64_as_numbers(true);
    let mut client = Client::connect(&sim).await;
    let bearer = format!("Bearer {}", sim.admin_pat());
    let auth = [("authorization", bearer.as_str())];

    // Enums travel by number on the wire and by name through the handler.
    let machines = client
        .call(
            "ListUsers",
            json!({"queries": [{"typeQuery": {"type": "TYPE_MACHINE"}}], "sortingColumn": "USER_FIELD_NAME_USER_NAME"}),
            &auth,
        )
        .await
        .unwrap();
    let names: Vec<&str> = machines["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"deployer"), "{machines}");
    assert!(!machines.to_string().contains("\"701\""), "{machines}");
    assert!(machines["details"]["totalResult"].is_string(), "{machines}");

    // A field the message does not know (number 99 here) is skipped, as protobuf decoding
    // does; only proto3 JSON is strict about unknown fields.
    let mut message = request_message(
        "AddPersonalAccessToken",
        json!({"userId": "700", "expirationDate": in_30_days()}),
    );
    message.extend_from_slice(&[0x9a, 0x06, 0x01, b'x']);
    let added = client
        .call_raw(
            &format!("/{SERVICE}/AddPersonalAccessToken"),
            message,
            &auth,
        )
        .await
        .unwrap();
    let added = response_json("AddPersonalAccessToken", &added);
    assert!(added["tokenId"].is_string(), "{added}");
    assert_eq!(sim.pats_of("700").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_need_the_users_authorization() {
    let sim = ZitadelSim::start().await;
    let mut client = Client::connect(&sim).await;
    let list = json!({});
    let none = client
        .call("ListPersonalAccessTokens", list.clone(), &[])
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated, "{none:?}");
    assert!(none.message().contains("Errors.Token.Invalid"), "{none:?}");
    let wrong = client
        .call(
            "ListPersonalAccessTokens",
            list,
            &[("authorization", "Bearer not-a-token")],
        )
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_keep_the_connect_paths_codes() {
    let sim = ZitadelSim::start().await;
    sim.add_human_user(ORG, "400");
    let mut client = Client::connect(&sim).await;
    let bearer = format!("Bearer {}", sim.admin_pat());
    let auth = [("authorization", bearer.as_str())];
    let expiration = in_30_days();

    let missing = client
        .call(
            "AddPersonalAccessToken",
            json!({"userId": "999", "expirationDate": expiration}),
            &auth,
        )
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    assert!(missing.message().contains("Errors.User.NotFound"));

    let human = client
        .call(
            "AddPersonalAccessToken",
            json!({"userId": "400", "expirationDate": expiration}),
            &auth,
        )
        .await
        .unwrap_err();
    assert_eq!(human.code(), Code::FailedPrecondition, "{human:?}");

    // The request message requires an expiration (as on Connect).
    let no_expiration = client
        .call(
            "AddPersonalAccessToken",
            json!({"userId": sim_admin()}),
            &auth,
        )
        .await
        .unwrap_err();
    assert_eq!(no_expiration.code(), Code::InvalidArgument);

    let limit = client
        .call(
            "ListPersonalAccessTokens",
            json!({"pagination": {"limit": 1001}}),
            &auth,
        )
        .await
        .unwrap_err();
    assert_eq!(limit.code(), Code::InvalidArgument);
}

fn sim_admin() -> &'static str {
    ZitadelSim::ADMIN_USER
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_org_header_scopes_v1_calls_and_not_v2_ones() {
    let sim = ZitadelSim::start().await;
    sim.add_machine_user("500", "501");
    let mut client = Client::connect(&sim).await;
    let bearer = format!("Bearer {}", sim.admin_pat());
    let expiration = in_30_days();
    let add = json!({"userId": "501", "expirationDate": expiration});

    // The v2 user service addresses users by id, whatever `x-zitadel-orgid` says (as
    // ZITADEL's command looks the user up with no resource owner): the token is created in
    // 501's own organization.
    let in_other_org = [
        ("authorization", bearer.as_str()),
        ("x-zitadel-orgid", ZitadelSim::DEFAULT_ORG),
    ];
    let added = client
        .call("AddPersonalAccessToken", add, &in_other_org)
        .await
        .unwrap();
    let token_id = added["tokenId"].as_str().unwrap().to_owned();
    assert_eq!(sim.pats_of("501")[0].org_id, "500");

    // Listings answer for the instance, not the header's organization; the
    // `organizationIdFilter` narrows them.
    let everywhere = client
        .call("ListPersonalAccessTokens", json!({}), &in_other_org)
        .await
        .unwrap();
    assert!(ids(&everywhere).contains(&token_id), "{everywhere}");
    assert!(ids(&everywhere).len() > 1, "{everywhere}");
    let in_500 = client
        .call(
            "ListPersonalAccessTokens",
            json!({"filters": [{"organizationIdFilter": {"id": "500"}}]}),
            &[("authorization", bearer.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(ids(&in_500), [token_id.as_str()]);
    let in_default = client
        .call(
            "ListPersonalAccessTokens",
            json!({"filters": [{"organizationIdFilter": {"id": ZitadelSim::DEFAULT_ORG}}]}),
            &[("authorization", bearer.as_str())],
        )
        .await
        .unwrap();
    assert!(!ids(&in_default).contains(&token_id), "{in_default}");

    // v1 management calls are scoped by the header: 501's tokens are not listed from the
    // default organization, only from its own.
    for (org, expected) in [
        (ZitadelSim::DEFAULT_ORG, vec![]),
        ("500", vec![token_id.clone()]),
    ] {
        let listed = client
            .call(
                "ManagementService/ListPersonalAccessTokens",
                json!({"userId": "501"}),
                &[("authorization", bearer.as_str()), ("x-zitadel-orgid", org)],
            )
            .await
            .unwrap();
        assert_eq!(ids(&listed), expected, "{org}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_methods_and_services_are_unimplemented() {
    let sim = ZitadelSim::start().await;
    let mut client = Client::connect(&sim).await;
    let bearer = format!("Bearer {}", sim.admin_pat());
    let auth = [("authorization", bearer.as_str())];
    for path in [
        format!("/{SERVICE}/DeleteUser"),
        "/zitadel.management.v1.ManagementService/GetUserByID".to_owned(),
        "/grpc.health.v1.Health/Check".to_owned(),
    ] {
        let status = client.call_raw(&path, Vec::new(), &auth).await.unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{path}: {status:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_message_is_invalid_argument() {
    let sim = ZitadelSim::start().await;
    let mut client = Client::connect(&sim).await;
    let bearer = format!("Bearer {}", sim.admin_pat());
    // Field 1 (user_id, a string) with a length running past the end.
    let status = client
        .call_raw(
            &format!("/{SERVICE}/AddPersonalAccessToken"),
            vec![0x0a, 0x20, b'x'],
            &[("authorization", bearer.as_str())],
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_become_grpc_statuses() {
    let sim = ZitadelSim::start().await;
    let mut client = Client::connect(&sim).await;
    let bearer = format!("Bearer {}", sim.admin_pat());
    let auth = [("authorization", bearer.as_str())];
    sim.faults().inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Some(7),
        })
        .path_contains("ListPersonalAccessTokens")
        .times(1),
    );
    let limited = client
        .call("ListPersonalAccessTokens", json!({}), &auth)
        .await
        .unwrap_err();
    assert_eq!(limited.code(), Code::Unavailable, "{limited:?}");
    assert_eq!(
        limited
            .metadata()
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap(),
        "7"
    );
    sim.faults().inject(
        FaultRule::new(Fault::InvalidJson)
            .path_contains("ListPersonalAccessTokens")
            .times(1),
    );
    // A broken answer reaches the client as a message that does not decode.
    let broken = client
        .call_raw(
            &format!("/{SERVICE}/ListPersonalAccessTokens"),
            Vec::new(),
            &auth,
        )
        .await
        .unwrap();
    let pool = pool();
    let output = pool
        .get_message_by_name("zitadel.user.v2.ListPersonalAccessTokensResponse")
        .unwrap();
    assert!(DynamicMessage::decode(output, broken.as_slice()).is_err());
    // A reset connection is an error of the call, not of the simulator.
    sim.faults().inject(
        FaultRule::new(Fault::Reset)
            .path_contains("ListPersonalAccessTokens")
            .times(1),
    );
    let reset = client
        .call("ListPersonalAccessTokens", json!({}), &auth)
        .await
        .unwrap_err();
    assert_ne!(reset.code(), Code::Ok);
    let mut client = Client::connect(&sim).await;
    // The next call is served again.
    client
        .call("ListPersonalAccessTokens", json!({}), &auth)
        .await
        .unwrap();
}

/// A raw HTTP/2 request: the status, headers, body and trailers of the answer.
struct RawAnswer {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
    trailers: Option<http::HeaderMap>,
}

impl RawAnswer {
    /// `grpc-status` from the trailers, else from the headers (Trailers-Only).
    fn grpc_status(&self) -> Option<u32> {
        self.trailers
            .as_ref()
            .and_then(|t| t.get("grpc-status"))
            .or_else(|| self.headers.get("grpc-status"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }
}

async fn raw_h2(
    sim: &ZitadelSim,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> RawAnswer {
    let stream = tokio::net::TcpStream::connect(sim.uri().trim_start_matches("http://"))
        .await
        .unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let mut request = http::Request::post(format!("{}{path}", sim.uri()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body))).unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let collected = response.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    RawAnswer {
        status,
        headers,
        body: collected.to_bytes(),
        trailers,
    }
}

/// A raw HTTP/1.1 request: the body of the answer.
async fn raw_h1(sim: &ZitadelSim, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Bytes {
    let stream = tokio::net::TcpStream::connect(sim.uri().trim_start_matches("http://"))
        .await
        .unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    // The server answers only a Host naming it, port included.
    let host = sim.uri().trim_start_matches("http://").to_owned();
    let mut request = http::Request::post(path).header("host", host);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body))).unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.unwrap().to_bytes()
}

fn framed(flag: u8, length: u32, message: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(message);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_grpc_statuses_not_panics() {
    let sim = ZitadelSim::start().await;
    let bearer = format!("Bearer {}", sim.admin_pat());
    let path = format!("/{SERVICE}/ListPersonalAccessTokens");
    let grpc = [
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        ("authorization", bearer.as_str()),
    ];
    let cases: Vec<(&str, Vec<u8>, u32)> = vec![
        ("no message", Vec::new(), 3),
        ("a cut prefix", vec![0, 0, 0], 3),
        ("fewer bytes than promised", framed(0, 10, &[0x08]), 3),
        (
            "two messages",
            [framed(0, 0, &[]), framed(0, 0, &[])].concat(),
            3,
        ),
        ("compressed without grpc-encoding", framed(1, 0, &[]), 13),
        ("unknown flags", framed(0x40, 0, &[]), 3),
        (
            "a length over the limit",
            framed(0, 4 * 1024 * 1024 + 1, &[0; 16]),
            8,
        ),
        ("an undecodable message", framed(0, 2, &[0xff, 0xff]), 3),
    ];
    for (what, body, code) in cases {
        let answer = raw_h2(&sim, &path, &grpc, body).await;
        assert_eq!(answer.status, 200, "{what}");
        assert_eq!(
            answer.grpc_status(),
            Some(code),
            "{what}: {:?}",
            answer.headers
        );
        assert!(answer.headers.contains_key("grpc-message"), "{what}");
    }
    // A well-formed empty message is a valid (empty) request.
    let answer = raw_h2(&sim, &path, &grpc, framed(0, 0, &[])).await;
    assert_eq!(answer.grpc_status(), Some(0), "{:?}", answer.headers);
    assert_eq!(
        answer.headers.get("content-type").unwrap(),
        "application/grpc"
    );

    // Compression the simulator does not do: UNIMPLEMENTED, naming what it accepts.
    let gzip = [
        ("content-type", "application/grpc+proto"),
        ("te", "trailers"),
        ("grpc-encoding", "gzip"),
        ("authorization", bearer.as_str()),
    ];
    let answer = raw_h2(&sim, &path, &gzip, framed(1, 0, &[])).await;
    assert_eq!(answer.grpc_status(), Some(12));
    assert_eq!(
        answer.headers.get("grpc-accept-encoding").unwrap(),
        "identity"
    );

    // A body over the server's limit is refused before it is read whole, as a gRPC
    // status (not a bare HTTP 413, which gRPC clients can only call UNKNOWN).
    let huge = framed(0, 4 * 1024 * 1024 + 64, &vec![0; 4 * 1024 * 1024 + 64]);
    let answer = raw_h2(&sim, &path, &grpc, huge).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.grpc_status(), Some(8), "{:?}", answer.headers);

    // The simulator still answers after all of that.
    let answer = raw_h2(&sim, &path, &grpc, framed(0, 0, &[])).await;
    assert_eq!(answer.grpc_status(), Some(0));
}

/// The frames of a gRPC-Web body: (flag, payload).
fn web_frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while body.len() >= 5 {
        let flag = body[0];
        let length = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        frames.push((flag, body[5..5 + length].to_vec()));
        body = &body[5 + length..];
    }
    assert!(body.is_empty());
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_and_its_text_form_are_served() {
    use base64::Engine as _;
    let sim = ZitadelSim::start().await;
    let bearer = format!("Bearer {}", sim.admin_pat());
    let path = format!("/{SERVICE}/ListPersonalAccessTokens");
    let message = request_message("ListPersonalAccessTokens", json!({}));

    let web = [
        ("content-type", "application/grpc-web+proto"),
        ("authorization", bearer.as_str()),
    ];
    let answer = raw_h2(&sim, &path, &web, framed(0, message.len() as u32, &message)).await;
    assert_eq!(
        answer.headers.get("content-type").unwrap(),
        "application/grpc-web+proto"
    );
    let frames = web_frames(&answer.body);
    assert_eq!(frames.len(), 2, "{frames:?}");
    let listed = response_json("ListPersonalAccessTokens", &frames[0].1);
    assert_eq!(listed["result"][0]["userId"], ZitadelSim::ADMIN_USER);
    assert_eq!(frames[1].0, 0x80);
    assert_eq!(frames[1].1, b"grpc-status:0\r\n");

    // gRPC-Web needs no HTTP/2 (browsers speak it over HTTP/1.1 too).
    let answer = raw_h1(&sim, &path, &web, framed(0, message.len() as u32, &message)).await;
    let frames = web_frames(&answer);
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[1].1, b"grpc-status:0\r\n");

    let text = [
        ("content-type", "application/grpc-web-text"),
        ("authorization", "Bearer wrong"),
    ];
    let body = base64::engine::general_purpose::STANDARD
        .encode(framed(0, message.len() as u32, &message))
        .into_bytes();
    let answer = raw_h2(&sim, &path, &text, body).await;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&answer.body)
        .unwrap();
    let frames = web_frames(&decoded);
    assert_eq!(frames.len(), 1, "{frames:?}");
    let trailers = String::from_utf8(frames[0].1.clone()).unwrap();
    assert!(trailers.starts_with("grpc-status:16\r\n"), "{trailers}");
}
